import { AppError } from '../errors.ts';

/**
 * The one home for what an identity value may look like, shared by proxy headers and signed tokens.
 * Emails and group names are ASCII only: full Unicode case mapping would turn a look-alike such as
 * "\u212Aate@" (the Kelvin sign) into "kate@" and hand out kate's grants. Punycode (xn--) is ASCII.
 */

const EMAIL_PATTERN =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
/** Printable ASCII without space or comma, so one group name can never split into two grants. */
const GROUP_PATTERN = /^[\x21-\x2b\x2d-\x7e]{1,256}$/;
const USER_PATTERN = /^[\x21-\x7e]{1,256}$/;
const MAX_EMAIL = 254;
export const MAX_GROUPS = 256;

export const unauthenticated = (reason: string, detail: string, cause?: unknown) =>
  new AppError('unauthenticated', 401, detail, { reason, cause });

export const isAsciiEmail = (value: string): boolean => value.length <= MAX_EMAIL && EMAIL_PATTERN.test(value);
export const isGroupName = (value: string): boolean => GROUP_PATTERN.test(value);
export const isUserName = (value: string): boolean => USER_PATTERN.test(value);

/** Lower-cases only after the ASCII check, so case mapping can never change which person is meant. */
export function normaliseEmail(value: string, reason: string, what: string): string {
  if (!isAsciiEmail(value)) throw unauthenticated(reason, `${what} is not an ASCII email address.`);
  return value.toLowerCase();
}

/** Every name must pass, or the whole identity is refused: a silently dropped group hides a bad token. */
export function validGroups(names: readonly string[], reason: string, what: string): string[] {
  if (names.length > MAX_GROUPS || !names.every(isGroupName)) {
    throw unauthenticated(reason, `${what} must be group names without spaces or commas.`);
  }
  return [...new Set(names)];
}
