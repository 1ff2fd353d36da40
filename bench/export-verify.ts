/**
 * `npm run bench:memory`: the gateway's peak resident memory (VmHWM) while reviewers do the heaviest
 * things they can, on a 200,000-record chain: two full CSV exports and a full verify at once. Run with
 * the Deployment's own runtime settings, so the figure is the one its memory request and limit must hold.
 */
import { readFileSync } from 'node:fs';
import { withRole } from '../test/support/global-setup.ts';
import { seedAuditEvents } from '../test/support/seed-audit.ts';
import { startStack } from './stack.ts';
import { sql } from './support.ts';
import { createDatabase } from '../src/database.ts';
import { createLogger } from '../src/logger.ts';

const EVENTS = 100_000; // each with its outcome: 200,000 records
/** Two reviewers: each caller holds at most one long-read slot. */
const reviewer = (n: number) => ({
  'X-Forwarded-Email': `reviewer${n}@example.com`,
  'X-Forwarded-Groups': 'security-reviewers',
});

/** Links the seeded rows into a real chain, as the insert trigger would have, so a verify walks all of them. */
async function link(url: string): Promise<void> {
  await sql(
    url,
    `do $$
    declare r record; prev bytea := sha256(convert_to('vonage-secrets-gateway audit chain v1', 'UTF8')); n bigint := 0;
    begin
      alter table audit_events disable trigger user;
      alter table audit_outcomes disable trigger user;
      for r in select 'e' as k, id from audit_events union all select 'o', event_id from audit_outcomes order by 2, 1 loop
        n := n + 1;
        if r.k = 'e' then
          update audit_events set chain_seq = n where id = r.id;
          update audit_events set chain_hash = sha256(prev || convert_to(audit_event_canonical(audit_events), 'UTF8'))
            where id = r.id returning chain_hash into prev;
        else
          update audit_outcomes set chain_seq = n where event_id = r.id;
          update audit_outcomes set chain_hash = sha256(prev || convert_to(audit_outcome_canonical(audit_outcomes), 'UTF8'))
            where event_id = r.id returning chain_hash into prev;
        end if;
      end loop;
      update audit_chain_head set seq = n, hash = prev where id = 1;
      alter table audit_events enable trigger user;
      alter table audit_outcomes enable trigger user;
    end $$`,
  );
}

const peakMb = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

async function drain(url: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  let bytes = 0;
  for await (const chunk of res.body ?? []) bytes += (chunk as Uint8Array).length;
  return bytes;
}

const stack = await startStack();
try {
  const owner = withRole(stack.cluster.url, 'postgres', 'bench');
  const seeder = createDatabase({ connectionString: owner, logger: createLogger('error'), statementTimeoutMs: 0 });
  await seedAuditEvents(seeder, EVENTS);
  await seeder.destroy();
  await link(owner);
  const pid = stack.gateway.pid as number;
  const before = peakMb(pid);
  const url = stack.gatewayUrl;
  const verify = () =>
    fetch(`${url}/v1/audit-events/verify?full=true`, { headers: reviewer(3) }).then(
      (r) => r.json() as Promise<{ status: string; records: number }>,
    );
  // The long-read cap is 2 per process: the worst cases are two exports, and an export beside a verify.
  const [csv, ndjson] = await Promise.all([
    drain(`${url}/v1/audit-events?format=csv`, reviewer(1)),
    drain(`${url}/v1/audit-events?format=ndjson`, reviewer(2)),
  ]);
  const afterExports = peakMb(pid);
  const [, verified] = await Promise.all([drain(`${url}/v1/audit-events?format=ndjson`, reviewer(1)), verify()]);
  console.log(`runtime: ${JSON.stringify(stack.runtime)} (${stack.runtimeSource})`);
  console.log(`exports at once: ${(csv / 2 ** 20).toFixed(1)} MB CSV and ${(ndjson / 2 ** 20).toFixed(1)} MB NDJSON`);
  console.log(`verify beside an export: ${JSON.stringify(verified)}`);
  console.log(`peak RSS (VmHWM) of ${2 * EVENTS} records: ${before.toFixed(0)} MB after start,`);
  console.log(
    `  ${afterExports.toFixed(0)} MB after two exports at once, ${peakMb(pid).toFixed(0)} MB after an export and a full verify at once`,
  );
} finally {
  await stack.stop();
}
