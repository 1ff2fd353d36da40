import { createHmac, randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';

/**
 * Delivery tokens: `vsgd_` (so secret scanners can recognise a leaked one) and 256 random bits in
 * base64url. Only an HMAC under DELIVERY_TOKEN_HMAC_KEY is stored, so a copy of the database cannot
 * deliver, and a lookup is an indexed equality on the HMAC (no timing difference to learn from).
 */
export const TOKEN_PREFIX = 'vsgd_';
const TOKEN_PATTERN = /^vsgd_[A-Za-z0-9_-]{43}$/;

export const mintToken = (): string => `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;

export const isTokenShaped = (value: string): boolean => TOKEN_PATTERN.test(value);

export const tokenHmac = (hmacKey: string, token: string): string =>
  createHmac('sha256', hmacKey).update(token).digest('hex');

/** Registering and delivering both refuse this way when DELIVERY_TOKEN_HMAC_KEY is not set. */
export const deliveryOff = () =>
  new AppError('delivery-off', 503, 'Delivery is off on this gateway: DELIVERY_TOKEN_HMAC_KEY is not set.');
