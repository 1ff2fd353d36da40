import type { InvalidParam } from '../errors.ts';
import { isAsciiEmail } from '../identity/identity-values.ts';
import { API_KEY_PATTERN } from '../vonage/identifiers.ts';
import type { AuditFilter } from './query.ts';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES, type AuditAction, type AuditOutcome } from './audit.table.ts';

/**
 * The one parser of audit filters, for the API's query string and the reviewers' CLI alike. Values
 * arrive as people type them (`alice@example.com`, `2026-11-27T00:00:00Z`, `7d`); each is checked
 * here, so nothing Postgres would choke on (a NUL, year 0, a leap second) gets past as a 500.
 */

export type AuditFilterInput = Partial<
  Record<'action' | 'actor' | 'api_key' | 'outcome' | 'since' | 'until' | 'limit' | 'cursor', string>
>;
export type ParsedAuditFilter = Omit<AuditFilter, 'limit'> & { limit?: number };

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
const RELATIVE = /^(\d{1,6})([mhd])$/;
// RFC 3339, or a bare date; a space stands for '+' because an unencoded '+' in a query string means space.
const ABSOLUTE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+ -]\d{2}:\d{2}))?$/;
const OLDEST = Date.UTC(1970, 0, 1);
/** The last instant of 9999 that Postgres and the docs accept: 9999-12-31T23:59:59.999Z. */
const NEWEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** `7d`, `24h`, `30m` back from now, or an RFC 3339 time. Null when it is neither, or out of range. */
export function parseWhen(value: string, now = Date.now()): Date | null {
  const relative = RELATIVE.exec(value);
  if (relative) return inRange(now - Number(relative[1]) * (UNITS[relative[2] as string] as number));
  const match = ABSOLUTE.exec(value);
  if (!match) return null;
  const [year, month, day, hour = 0, minute = 0, second = 0] = match.slice(1, 7).map((part) => Number(part ?? 0));
  const fields = Date.UTC(year as number, (month as number) - 1, day, hour, minute, second);
  const back = new Date(fields);
  // Date.UTC rolls Feb 30 into March and 23:59:60 into the next day; a real time round-trips.
  if (
    back.getUTCMonth() !== (month as number) - 1 ||
    back.getUTCDate() !== day ||
    back.getUTCHours() !== hour ||
    back.getUTCSeconds() !== second
  )
    return null;
  const offset = match[8]?.toUpperCase() ?? 'Z';
  const offsetMs =
    offset === 'Z'
      ? 0
      : (offset[0] === '-' ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4))) * 60_000;
  const millis = fields + Math.trunc(Number(match[7] ?? 0) * 1000) - offsetMs;
  return inRange(millis);
}

const inRange = (millis: number) => (millis < OLDEST || millis > NEWEST ? null : new Date(millis));

function oneOf<T extends string>(
  allowed: readonly T[],
  value: string | undefined,
  name: string,
  problems: InvalidParam[],
) {
  if (value !== undefined && !allowed.includes(value as T))
    problems.push({ name, reason: `must be one of ${allowed.join(', ')}` });
  return value as T | undefined;
}

export function parseAuditFilter(
  input: AuditFilterInput,
  now = Date.now(),
): { filter: ParsedAuditFilter; problems: InvalidParam[] } {
  const problems: InvalidParam[] = [];
  const when = (name: 'since' | 'until') => {
    const value = input[name];
    const parsed = value === undefined ? undefined : parseWhen(value, now);
    if (parsed === null)
      problems.push({ name, reason: 'is not a time: use 7d, 24h, 30m or an RFC 3339 time between 1970 and 9999' });
    return parsed ?? undefined;
  };
  const filter: ParsedAuditFilter = {
    action: oneOf<AuditAction>(AUDIT_ACTIONS, input.action, 'action', problems),
    outcome: oneOf<AuditOutcome>(AUDIT_OUTCOMES, input.outcome, 'outcome', problems),
    actor: input.actor?.toLowerCase(),
    apiKey: input.api_key,
    since: when('since'),
    until: when('until'),
    limit: input.limit === undefined ? undefined : Number(input.limit),
    cursor: input.cursor,
  };
  if (input.actor !== undefined && !isAsciiEmail(input.actor))
    problems.push({ name: 'actor', reason: 'must be an email address' });
  if (input.api_key !== undefined && !API_KEY_PATTERN.test(input.api_key))
    problems.push({ name: 'api_key', reason: 'must be a Vonage api key' });
  if (input.limit !== undefined && !/^[1-9]\d{0,8}$/.test(input.limit))
    problems.push({ name: 'limit', reason: 'must be a positive whole number' });
  if (filter.since && filter.until && filter.since >= filter.until)
    problems.push({ name: 'since', reason: 'must be before until' });
  return { filter, problems };
}
