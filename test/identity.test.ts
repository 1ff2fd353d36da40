import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { auditEventFor, type Gateway, MASTER_KEY, requestId, startGateway } from './support/harness.ts';

/**
 * Identity spoofing. supertest cannot send a header twice or with an underscore, so these requests
 * go through node:http with raw header arrays, exactly as bytes on the wire.
 */

interface Listening {
  gateway: Gateway;
  server: http.Server;
  port: number;
}

async function listen(trustedProxyCidrs: string[]): Promise<Listening> {
  const gateway = await startGateway({ trustedProxyCidrs });
  const server = gateway.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { gateway, server, port: (server.address() as AddressInfo).port };
}

/** `behindProxy` trusts loopback, as when the SSO proxy is the peer; `direct` trusts only 10/8, so loopback is a stranger. */
let behindProxy: Listening;
let direct: Listening;
beforeAll(async () => {
  [behindProxy, direct] = await Promise.all([listen(['loopback']), listen(['10.0.0.0/8'])]);
});
afterAll(async () => {
  for (const { server, gateway } of [behindProxy, direct]) {
    await new Promise((resolve) => server.close(resolve));
    await gateway.close();
  }
});

function rawRequest(
  target: Listening,
  method: string,
  path: string,
  headers: string[],
  body?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const { port } = target;
  return new Promise((resolve, reject) => {
    // With raw header arrays Node adds nothing itself, so Host (required by HTTP/1.1) is set here.
    const base = ['Host', `127.0.0.1:${port}`, ...headers];
    const withBody = body === undefined ? base : [...base, 'Content-Type', 'application/json'];
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: withBody }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const EMAIL = 'X-Forwarded-Email';
/** The UTF-8 bytes a client puts on the wire, as Node's latin1 header strings carry them. */
const utf8AsSent = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
const GOOD = [EMAIL, 'admin@example.com', 'X-Forwarded-Groups', 'platform-admins'];

describe('identity headers on /v1', () => {
  test.each([
    ['perfect headers from an untrusted peer', 'untrusted_peer', GOOD, 'direct'],
    ['no email header', 'missing_header', ['X-Forwarded-Groups', 'platform-admins'], 'proxy'],
    ['an empty email header', 'empty_header', [EMAIL, '', 'X-Forwarded-Groups', 'platform-admins'], 'proxy'],
    ['a blank email header', 'empty_header', [EMAIL, '   ', 'X-Forwarded-Groups', 'platform-admins'], 'proxy'],
    ['a duplicated email header', 'duplicate_header', [...GOOD, EMAIL, 'evil@example.com'], 'proxy'],
    [
      'the email twice in different cases',
      'duplicate_header',
      [...GOOD, 'x-forwarded-email', 'evil@example.com'],
      'proxy',
    ],
    ['a duplicated groups header', 'duplicate_header', [...GOOD, 'X-Forwarded-Groups', 'platform-admins'], 'proxy'],
    [
      'an underscore variant of the email header',
      'header_variant',
      [...GOOD, 'X_Forwarded_Email', 'evil@example.com'],
      'proxy',
    ],
    [
      'an underscore and case variant of the groups header',
      'header_variant',
      [EMAIL, 'admin@example.com', 'x_forwarded_GROUPS', 'platform-admins'],
      'proxy',
    ],
    [
      'a mixed dash and underscore variant of the user header',
      'header_variant',
      [...GOOD, 'X-Forwarded_User', 'root'],
      'proxy',
    ],
    [
      'an email that is not an address',
      'malformed_header',
      [EMAIL, 'admin', 'X-Forwarded-Groups', 'platform-admins'],
      'proxy',
    ],
    ['two emails in one header', 'malformed_header', [EMAIL, 'admin@example.com, evil@example.com'], 'proxy'],
    [
      'groups separated by comma and space',
      'malformed_header',
      [EMAIL, 'admin@example.com', 'X-Forwarded-Groups', 'staff, platform-admins'],
      'proxy',
    ],
    [
      'an empty group in the list',
      'malformed_header',
      [EMAIL, 'admin@example.com', 'X-Forwarded-Groups', 'staff,,platform-admins'],
      'proxy',
    ],
    ['an empty groups header', 'empty_header', [EMAIL, 'admin@example.com', 'X-Forwarded-Groups', ''], 'proxy'],
    ['a user with a space', 'malformed_header', [...GOOD, 'X-Forwarded-User', 'ad min'], 'proxy'],
    [
      'a look-alike email with the Kelvin sign (\\u212Aate@)',
      'malformed_header',
      [EMAIL, utf8AsSent('\u212Aate@example.com')],
      'proxy',
    ],
    [
      'a look-alike email with a Cyrillic a',
      'malformed_header',
      [EMAIL, utf8AsSent('\u0430dmin@example.com')],
      'proxy',
    ],
  ] as const)(
    'when the request carries %s, then 401 with reason %s, nothing reaches Vonage, and nothing is audited',
    async (_label, reason, headers, peer) => {
      const target = peer === 'direct' ? direct : behindProxy;
      const { gateway } = target;
      const id = requestId('spoof');
      const before = gateway.vonage.received.length;

      const res = await rawRequest(
        target,
        'POST',
        `/v1/accounts/${MASTER_KEY}/secrets`,
        ['X-Request-Id', id, ...headers],
        JSON.stringify({ secret: exampleSecret() }),
      );

      expect(res).toMatchObject({ status: 401, body: { status: 401, reason } });
      expect(gateway.vonage.received).toHaveLength(before);
      expect(await auditEventFor(gateway, id)).toEqual([]);
    },
  );

  test('when the email has a punycode (xn--) domain, then it is accepted as the ASCII it is', async () => {
    const res = await rawRequest(behindProxy, 'GET', `/v1/accounts/${MASTER_KEY}/secrets`, [
      EMAIL,
      'admin@xn--bcher-kva.example',
      'X-Forwarded-Groups',
      'platform-admins',
    ]);

    expect(res.status).toBe(200);
  });

  test('when the headers are well-formed, in any casing, then the request is served', async () => {
    const res = await rawRequest(behindProxy, 'GET', `/v1/accounts/${MASTER_KEY}/secrets`, [
      'x-forwarded-email',
      'Admin@Example.com',
      'X-FORWARDED-GROUPS',
      'platform-admins',
    ]);

    expect(res.status).toBe(200);
  });
});
