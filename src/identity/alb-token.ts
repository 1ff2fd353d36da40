import { verify, type KeyObject } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { unauthenticated } from './identity-values.ts';
import type { JwtSettings } from './jwt-settings.ts';

/**
 * AWS ALB's `x-amzn-oidc-data` is JWT-shaped but keeps base64 padding, and the signature covers the
 * padded text, so standard JWT libraries reject it. This verifies it as AWS documents: ES256 over the
 * first two segments as sent, a PEM key per kid, and the load balancer's ARN in the header's `signer`.
 */

interface AlbHeader {
  alg?: unknown;
  kid?: unknown;
  signer?: unknown;
  client?: unknown;
  iss?: unknown;
  exp?: unknown;
}

const SEGMENT = /^[A-Za-z0-9_-]+={0,2}$/;
const SIGNATURE_BYTES: Record<string, number> = { ES256: 64, ES384: 96, ES512: 132 };
const HASHES: Record<string, string> = { ES256: 'sha256', ES384: 'sha384', ES512: 'sha512' };
const malformed = () => unauthenticated('malformed_token', 'The identity assertion is not a well-formed ALB token.');

function decodeJson<T>(segment: string): T {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as T;
  } catch {
    throw malformed();
  }
}

function assertTimes(payload: JWTPayload, header: AlbHeader, toleranceSeconds: number): void {
  const now = Math.floor(Date.now() / 1000);
  const exp = typeof payload.exp === 'number' ? payload.exp : header.exp;
  if (typeof exp !== 'number') throw unauthenticated('invalid_claims', 'The identity assertion has no expiry.');
  if (now > exp + toleranceSeconds) throw unauthenticated('expired', 'The identity assertion has expired.');
  if (typeof payload.nbf === 'number' && payload.nbf > now + toleranceSeconds)
    throw unauthenticated('not_yet_valid', 'The identity assertion is not valid yet.');
}

function assertBinding(header: AlbHeader, payload: JWTPayload, settings: JwtSettings): void {
  if (header.signer !== settings.albSigner)
    throw unauthenticated('wrong_signer', 'The identity assertion was signed by another load balancer.');
  if (header.client !== settings.audience)
    throw unauthenticated('wrong_audience', 'The identity assertion is for another client.');
  const issuer = typeof header.iss === 'string' ? header.iss : payload.iss;
  if (settings.issuer !== undefined && issuer !== settings.issuer)
    throw unauthenticated('wrong_issuer', "The identity assertion's issuer is not the expected one.");
}

export async function verifyAlbToken(
  token: string,
  settings: JwtSettings,
  keyFor: (kid: string) => Promise<KeyObject>,
): Promise<JWTPayload> {
  const segments = token.split('.');
  if (segments.length !== 3 || !segments.every((s) => SEGMENT.test(s))) throw malformed();
  const [headerPart, payloadPart, signaturePart] = segments as [string, string, string];
  const header = decodeJson<AlbHeader>(headerPart);
  if (typeof header.alg !== 'string' || !settings.algorithms.includes(header.alg) || !HASHES[header.alg]) {
    throw unauthenticated('algorithm_not_allowed', 'The identity assertion uses an algorithm that is not allowed.');
  }
  if (typeof header.kid !== 'string') throw unauthenticated('unknown_key', 'The identity assertion names no key id.');
  const signature = Buffer.from(signaturePart, 'base64url');
  if (signature.length !== SIGNATURE_BYTES[header.alg])
    throw unauthenticated('bad_signature', "The identity assertion's signature does not verify.");
  const key = await keyFor(header.kid);
  const signed = Buffer.from(`${headerPart}.${payloadPart}`, 'ascii');
  if (!verify(HASHES[header.alg], signed, { key, dsaEncoding: 'ieee-p1363' }, signature)) {
    throw unauthenticated('bad_signature', "The identity assertion's signature does not verify.");
  }
  const payload = decodeJson<JWTPayload>(payloadPart);
  assertBinding(header, payload, settings);
  assertTimes(payload, header, settings.clockToleranceSeconds);
  return payload;
}
