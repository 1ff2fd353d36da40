/**
 * How an internal app calls the gateway with a client generated from the served contract:
 *   npx openapi-typescript http://gateway/openapi.json -o api.d.ts
 * CI regenerates the types from openapi-internal.yaml and compiles this file, so a contract change
 * that would break such clients fails the build.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './generated/api.d.ts';

type Secret = components['schemas']['Secret'];

const gateway = createClient<paths>({
  baseUrl: 'https://secrets-gateway.corp.example',
  // Behind the SSO proxy the identity headers are added by the proxy; server-side apps send a bearer token.
  headers: { Authorization: 'Bearer <the IdP token>' },
});

export async function whatMayIDo(): Promise<string[]> {
  const { data, error } = await gateway.GET('/v1/me');
  if (error) throw new Error(`${error.status}: ${error.detail}`);
  return data.accounts.flatMap((account) => account.actions.map((action) => `${action} on ${account.api_key}`));
}

export async function rotateIn(apiKey: string, secret: string, idempotencyKey: string): Promise<Secret> {
  const { data, error, response } = await gateway.POST('/v1/accounts/{apiKey}/secrets', {
    params: { path: { apiKey }, header: { 'Idempotency-Key': idempotencyKey } },
    body: { secret },
  });
  if (error) throw new Error(`${error.status} ${error.title}: ${error.detail} (request ${error.request_id})`);
  console.log('replayed:', response.headers.get('Idempotent-Replayed') === 'true');
  return data;
}

export async function revokeOld(apiKey: string, secretId: string): Promise<void> {
  const { error } = await gateway.DELETE('/v1/accounts/{apiKey}/secrets/{secretId}', {
    params: { path: { apiKey, secretId } },
  });
  if (error) throw new Error(`${error.status}: ${error.detail}`);
}

export async function recentFailures(): Promise<components['schemas']['AuditEvent'][]> {
  const { data, error } = await gateway.GET('/v1/audit-events', {
    params: { query: { outcome: 'upstream_failed', since: '7d', limit: 100 } },
  });
  if (error) throw new Error(`${error.status}: ${error.detail}`);
  // The same operation also streams CSV or NDJSON when asked with Accept; JSON is the default.
  if (typeof data === 'string') throw new Error('expected a JSON page');
  return data.events;
}
