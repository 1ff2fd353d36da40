import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';
import { AppError } from '../errors.ts';
import type { Identity } from '../identity/identity.ts';
import { type AccountCapability, accountCapabilities } from '../policy/capabilities.ts';
import type { Policy } from '../policy/policy.ts';
import { IN_PROGRESS } from '../rotation/rotations.table.ts';

/**
 * GET /v1/accounts: one page of the accounts the caller may see, with what a screen shows of each, in
 * one query on the estate snapshot and never a call to Vonage. Paging is by keyset (a cursor naming the
 * last row's sort key), so a page costs the same wherever it is and nothing is skipped or repeated
 * when accounts are added between pages.
 */
export interface AccountsQuery {
  caller: Identity;
  q?: string;
  overdue?: boolean;
  suspended?: boolean;
  sort: 'name' | 'oldest_secret';
  limit: number;
  cursor?: string;
}

export interface AccountsPageDeps {
  db: Kysely<Database>;
  policy: Policy;
  maxAgeDays: number;
  /** When the estate was last refreshed. */
  asOf: () => Date | null;
}

interface Row {
  api_key: string;
  name: string | null;
  suspended: boolean | null;
  listed: boolean;
  secret_count: number;
  oldest: Date | null;
  sort_key: string;
  rotation_id: string | null;
  rotation_state: string | null;
  rotation_started_at: Date | null;
  rotation_started_by: string | null;
}

const DAY_MS = 86_400_000;
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The cursor is opaque to callers: the sort it belongs to and the last row's key. */
const encodeCursor = (sort: string, key: string, apiKey: string) =>
  Buffer.from(JSON.stringify([sort, key, apiKey])).toString('base64url');

function decodeCursor(cursor: string, sort: string): [string, string] {
  try {
    const [was, key, apiKey] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (was === sort && typeof key === 'string' && typeof apiKey === 'string') return [key, apiKey];
  } catch {}
  throw new AppError('invalid-request', 400, 'The cursor is not one this listing gave out (or the sort changed).', {
    invalidParams: [{ name: 'cursor', reason: 'is not a cursor of this listing with this sort' }],
  });
}

export async function listAccounts(deps: AccountsPageDeps, query: AccountsQuery) {
  const visible = new Map(accountCapabilities(deps.policy, query.caller).map((a) => [a.api_key, a]));
  const rows = await pageRows(deps, query, [...visible.keys()]);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    accounts: page.map((row) => toItem(row, visible.get(row.api_key) as AccountCapability, deps)),
    next_cursor: rows.length > query.limit && last ? encodeCursor(query.sort, last.sort_key, last.api_key) : null,
    as_of: deps.asOf()?.toISOString() ?? null,
  };
}

function toItem(row: Row, capability: AccountCapability, deps: AccountsPageDeps) {
  const managed = deps.policy.accounts.get(row.api_key);
  const overdueBefore = Date.now() - deps.maxAgeDays * DAY_MS;
  return {
    api_key: row.api_key,
    name: row.name ?? managed?.name ?? null,
    suspended: row.suspended ?? managed?.suspended ?? false,
    secrets: row.listed
      ? {
          count: row.secret_count,
          oldest_created_at: row.oldest?.toISOString() ?? null,
          overdue: row.oldest !== null && row.oldest.getTime() < overdueBefore,
        }
      : null,
    rotation:
      row.rotation_id === null
        ? null
        : {
            id: row.rotation_id,
            state: row.rotation_state,
            started_at: row.rotation_started_at?.toISOString(),
            started_by: row.rotation_started_by,
          },
    actions: capability.actions,
  };
}

async function pageRows(deps: AccountsPageDeps, query: AccountsQuery, keys: string[]): Promise<Row[]> {
  if (keys.length === 0) return [];
  const byName = query.sort === 'name';
  const sortKey = byName
    ? sql`lower(coalesce(a.name, v.api_key))`
    : sql`coalesce(to_char(min(s.created_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), '~')`;
  const like = query.q ? `%${escapeLike(query.q.toLowerCase())}%` : null;
  const overdueBefore = new Date(Date.now() - deps.maxAgeDays * DAY_MS);
  const after = query.cursor ? decodeCursor(query.cursor, query.sort) : null;
  const { rows } = await sql<Row>`
    with summary as (
      select v.api_key, a.name, a.suspended, a.secrets_listed_at is not null as listed,
        count(s.secret_id)::int as secret_count, min(s.created_at) as oldest, ${sortKey} as sort_key
      from unnest(${keys}::text[]) as v (api_key)
        left join estate_accounts a on a.api_key = v.api_key
        left join estate_secrets s on s.api_key = v.api_key
      group by v.api_key, a.name, a.suspended, a.secrets_listed_at)
    select summary.*, r.id as rotation_id, r.state as rotation_state, r.started_at as rotation_started_at,
      r.started_by as rotation_started_by
    from summary
      left join rotations r on r.api_key = summary.api_key and r.state = any(${IN_PROGRESS}::text[])
    where (${like}::text is null or lower(summary.api_key) like ${like} or lower(summary.name) like ${like})
      and (${query.overdue ?? null}::boolean is null
        or coalesce(summary.oldest < ${overdueBefore}, false) = ${query.overdue ?? null})
      and (${query.suspended ?? null}::boolean is null
        or coalesce(summary.suspended, false) = ${query.suspended ?? null})
      and (${after?.[0] ?? null}::text is null
        or (summary.sort_key, summary.api_key) > (${after?.[0] ?? null}::text, ${after?.[1] ?? null}::text))
    order by summary.sort_key, summary.api_key
    limit ${query.limit + 1}`.execute(deps.db);
  return rows;
}
