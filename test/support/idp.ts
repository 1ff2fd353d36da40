import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, type JWTPayload, SignJWT } from 'jose';

/**
 * A local identity provider on loopback: publishes a JWKS (at every path the presets derive), an OIDC
 * discovery document and ALB-style PEMs per kid, counts key fetches, and mints tokens.
 */

export type Alg = 'ES256' | 'RS256';
export interface SigningKey {
  kid: string;
  alg: Alg;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface Idp {
  url: string;
  keyFetches: () => number;
  /** Every request for an ALB-style PEM, found or not. */
  pemRequests: () => number;
  newKey(alg: Alg, publish?: boolean): Promise<SigningKey>;
  sign(key: SigningKey, claims: JWTPayload, header?: Record<string, unknown>): Promise<string>;
  setDown(down: boolean): void;
  close(): Promise<void>;
}

const JWKS_PATHS = ['/jwks', '/cdn-cgi/access/certs', '/.well-known/pomerium/jwks.json'];
let kidCounter = 0;

export function keyPair(alg: Alg): { privateKey: KeyObject; publicKey: KeyObject } {
  return alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
}

/** base64url that keeps its `=` padding, as AWS ALB sends it. */
const padded = (data: Buffer) => data.toString('base64').replaceAll('+', '-').replaceAll('/', '_');

export function albToken(key: SigningKey, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const signingInput = `${padded(Buffer.from(JSON.stringify({ alg: 'ES256', kid: key.kid, ...header })))}.${padded(Buffer.from(JSON.stringify(claims)))}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${padded(signature)}`;
}

export async function startIdp(): Promise<Idp> {
  const published: SigningKey[] = [];
  let fetches = 0;
  let pemRequests = 0;
  let down = false;
  const server: Server = createServer(async (req, res) => {
    const path = req.url ?? '/';
    if (down) return void res.writeHead(503).end();
    if (JWKS_PATHS.includes(path)) {
      fetches += 1;
      const keys = await Promise.all(
        published.map(async (k) => ({ ...(await exportJWK(k.publicKey)), kid: k.kid, alg: k.alg, use: 'sig' })),
      );
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    }
    if (path === '/.well-known/openid-configuration') {
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks` }));
    }
    const pem = /^\/pem\/([^/]+)$/.exec(path);
    if (pem) pemRequests += 1;
    const key = pem && published.find((k) => k.kid === decodeURIComponent(pem[1] ?? ''));
    if (key) {
      fetches += 1;
      return void res
        .writeHead(200, { 'content-type': 'text/plain' })
        .end(key.publicKey.export({ type: 'spki', format: 'pem' }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    keyFetches: () => fetches,
    pemRequests: () => pemRequests,
    newKey: async (alg, publish = true) => {
      const key = { kid: `kid-${++kidCounter}`, alg, ...keyPair(alg) };
      if (publish) published.push(key);
      return key;
    },
    sign: (key, claims, header = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
        .sign(key.privateKey),
    setDown: (value) => {
      down = value;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
