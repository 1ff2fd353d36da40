import { Webhook } from 'standardwebhooks';
import type { AuditStreamSettings } from './settings.ts';
import type { StreamRecord } from './records.ts';

/**
 * One POST to the SIEM. Standard Webhooks: signed with AUDIT_STREAM_SECRET, and a retry of the same
 * batch keeps the same webhook-id, so a receiver can tell a retry from new data. Splunk HEC: one HEC
 * event per record, authorised with the HEC token. Anything but a 2xx is a failure to retry.
 */
export type Payload = StreamRecord | { kind: 'checkpoint'; seq: number; head_hash: string; records: number };

const TIMEOUT_MS = 10_000;

function request(
  settings: AuditStreamSettings,
  records: Payload[],
  now: Date,
): { headers: Record<string, string>; body: string } {
  if (settings.format === 'splunk-hec') {
    const time = now.getTime() / 1000;
    const body = records.map((event) => JSON.stringify({ time, sourcetype: 'vonage:gateway:audit', event })).join('\n');
    return { headers: { authorization: `Splunk ${settings.token}`, 'content-type': 'application/json' }, body };
  }
  const body = JSON.stringify({ records });
  const id = `audit-${records[0]?.seq}-${records.at(-1)?.seq}-${records[0]?.kind === 'checkpoint' ? 'checkpoint' : 'records'}`;
  const signature = new Webhook(settings.secret).sign(id, now, body);
  const headers = {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signature,
  };
  return { headers: { ...headers, 'content-type': 'application/json' }, body };
}

/** `stop` aborts a POST in flight, so a shutdown never waits on a sink that hangs. */
export async function post(settings: AuditStreamSettings, records: Payload[], stop?: AbortSignal): Promise<void> {
  const { headers, body } = request(settings, records, new Date());
  const response = await fetch(settings.url, {
    method: 'POST',
    headers,
    body,
    signal: stop ? AbortSignal.any([stop, AbortSignal.timeout(TIMEOUT_MS)]) : AbortSignal.timeout(TIMEOUT_MS),
    redirect: 'error',
  });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`the audit sink answered ${response.status}`);
}
