import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { verifyAlbToken } from './alb-token.ts';
import type { Identity, IdentityProvider, IdentityRequest } from './identity.ts';
import { identityFromClaims } from './jwt-claims.ts';
import { unauthenticated } from './identity-values.ts';
import { jwksKeys, keysUnavailable, pemPerKid } from './jwt-keys.ts';
import type { JwtSettings } from './jwt-settings.ts';

/**
 * AUTH_MODE=jwt: identity comes only from a signed assertion the identity-aware proxy adds. Plain
 * identity headers from the client are ignored (and logged as a spoofing signal). Every failure is a
 * 401 with a reason code; the token itself is never echoed or logged.
 */

const MAX_TOKEN_LENGTH = 16 * 1024;
const PLAIN_IDENTITY_HEADERS = ['x-forwarded-email', 'x-forwarded-user', 'x-forwarded-groups'];

function joseReason(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof joseErrors.JWTExpired) return unauthenticated('expired', 'The identity assertion has expired.');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const reasons: Record<string, string> = {
      nbf: 'not_yet_valid',
      iat: 'issued_in_future',
      iss: 'wrong_issuer',
      aud: 'wrong_audience',
      exp: 'expired',
    };
    return unauthenticated(
      reasons[error.claim] ?? 'invalid_claims',
      `The identity assertion's "${error.claim}" claim is not acceptable.`,
    );
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return unauthenticated('bad_signature', "The identity assertion's signature does not verify.");
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) {
    return unauthenticated('algorithm_not_allowed', 'The identity assertion uses an algorithm that is not allowed.');
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return unauthenticated('unknown_key', 'The identity assertion is signed with a key the provider does not publish.');
  }
  if (error instanceof joseErrors.JOSEError)
    return unauthenticated('malformed_token', 'The identity assertion is not a well-formed JWT.');
  return keysUnavailable(error);
}

function extractToken(request: IdentityRequest, header: string): string {
  const copies = request.rawHeaders.filter(
    (_value, index) => index % 2 === 0 && request.rawHeaders[index]?.toLowerCase() === header,
  ).length;
  if (copies > 1) throw unauthenticated('multiple_tokens', `The header "${header}" was sent more than once.`);
  const value = request.headers[header];
  if (typeof value !== 'string' || value.trim() === '')
    throw unauthenticated('missing_token', `The identity assertion header "${header}" is missing.`);
  if (value.length > MAX_TOKEN_LENGTH) throw unauthenticated('token_too_large', 'The identity assertion is too large.');
  if (header !== 'authorization') return value.trim();
  // The scheme is case-insensitive (RFC 9110 §11.1): bearer and BEARER are Bearer.
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(value.trim());
  if (!match?.[1]) throw unauthenticated('missing_token', 'The Authorization header must be "Bearer <token>".');
  return match[1];
}

export function jwtAssertionIdentity(settings: JwtSettings, logger: Logger): IdentityProvider {
  const { keys } = settings;
  const verify: (token: string) => Promise<JWTPayload> =
    keys.kind === 'pem-per-kid'
      ? (() => {
          const keyFor = pemPerKid(keys.urlTemplate, settings.jwksCooldownMs);
          return (token) => verifyAlbToken(token, settings, keyFor);
        })()
      : (() => {
          const keySet = jwksKeys(keys, settings.jwksCooldownMs);
          return async (token) => {
            const { payload } = await jwtVerify(token, keySet, {
              algorithms: settings.algorithms,
              issuer: settings.issuer,
              audience: settings.audience,
              clockTolerance: settings.clockToleranceSeconds,
              requiredClaims: ['exp'],
            });
            return payload;
          };
        })();

  return async (request): Promise<Identity> => {
    const spoofed = PLAIN_IDENTITY_HEADERS.filter((name) => request.headers[name] !== undefined);
    if (spoofed.length > 0)
      logger.warn('plain identity headers ignored in jwt mode (possible spoofing)', {
        headers: spoofed,
        peer: request.peerAddress,
      });
    const token = extractToken(request, settings.header);
    let payload: JWTPayload;
    try {
      payload = await verify(token);
    } catch (error) {
      throw joseReason(error);
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.iat === 'number' && payload.iat > now + settings.clockToleranceSeconds) {
      throw unauthenticated('issued_in_future', 'The identity assertion was issued in the future.');
    }
    return identityFromClaims(payload, settings);
  };
}
