import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { startMetricsServer } from '../src/http/metrics.ts';
import { admin, basicAuth, type Gateway, MASTER_KEY, MASTER_SECRET, startGateway } from './support/harness.ts';

let gateway: Gateway;
let auditDown: Gateway;
const secret = exampleSecret();
beforeAll(async () => {
  gateway = await startGateway({ rateLimits: { readsPerMinute: 1, writesPerMinute: 100 } });
  auditDown = await startGateway({ databaseUrl: 'postgres://postgres@127.0.0.1:1/unreachable' });
  await gateway.http.post(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin).send({ secret }).expect(201);
  await gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin).expect(200);
  await gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin).expect(429);
  await gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets`).set('X-Forwarded-Groups', 'platform-admins').expect(401);
  await auditDown.http
    .post(`/v1/accounts/${MASTER_KEY}/secrets`)
    .set(admin)
    .send({ secret: exampleSecret() })
    .expect(503);
});
afterAll(async () => {
  await Promise.all([gateway.close(), auditDown.close()]);
});

async function scrape(target: Gateway): Promise<string> {
  const server = await startMetricsServer(target.metrics, 0);
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return await res.text();
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('GET /metrics on the metrics port', () => {
  test.each([
    [
      'request count by route template and status',
      /gateway_http_requests_total\{method="POST",route="\/v1\/accounts\/:apiKey\/secrets",status="201"\} 1/,
    ],
    [
      'request duration',
      /gateway_http_request_duration_seconds_count\{method="GET",route="\/v1\/accounts\/:apiKey\/secrets",status="200"\} 1/,
    ],
    ['upstream duration and status', /gateway_upstream_duration_seconds_count\{status="201"\} 1/],
    ['rate-limit rejections by budget', /gateway_rate_limit_rejections_total\{budget="reads"\} 1/],
    ['identity failures by reason', /gateway_identity_failures_total\{reason="missing_header"\} 1/],
  ])('when traffic has flowed, then it shows %s', async (_label, series) => {
    expect(await scrape(gateway)).toMatch(series);
  });

  test('when an intent cannot be written, then the audit write failure is counted', async () => {
    expect(await scrape(auditDown)).toMatch(/gateway_audit_write_failures_total\{stage="intent"\} 1/);
  });

  test('when the series are searched, then no secret, credential or identity appears', async () => {
    const text = await scrape(gateway);

    for (const value of [secret, MASTER_SECRET, basicAuth(MASTER_KEY, MASTER_SECRET).slice(6), 'admin@example.com'])
      expect(text).not.toContain(value);
  });
});
