import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isGroupName } from '../identity/identity-values.ts';
import { API_KEY_PATTERN } from '../vonage/identifiers.ts';

/**
 * The access policy: which Vonage accounts this gateway manages and who may do what to them.
 * Loaded and validated once at start; a bad file stops the service with every problem named.
 * Which accounts exist comes from Vonage (discovery, src/estate/) unless `discovery: false`; the file's
 * `accounts` is then an allow-list, `exclude` names accounts never to touch, and a grant may name
 * accounts by api key or by a glob on their Vonage name.
 */

export const ACTIONS = ['secrets:read', 'secrets:create', 'secrets:revoke', 'consumers:manage', 'audit:read'] as const;
export type Action = (typeof ACTIONS)[number];

/** Every action but audit:read is granted on accounts (secrets:*, consumers:manage). */
export const isAccountAction = (action: string): boolean => action !== 'audit:read';

const apiKeySchema = z.string().regex(API_KEY_PATTERN, 'must be 6-32 letters or digits');
const nameGlobSchema = z.object({ name: z.string().min(1).max(200, 'must be at most 200 characters') }).strict();
const accountRefSchema = z.union([apiKeySchema, nameGlobSchema]);

/** Each field on its own; the rules across fields are checked beside them, so every problem is named. */
const grantFields = z
  .object({
    group: z.string().refine(isGroupName, 'must be a group name: printable ASCII, no spaces or commas').optional(),
    email: z.email().optional(),
    accounts: z
      .array(z.union([z.literal('*'), accountRefSchema]))
      .min(1)
      .optional(),
    actions: z.array(z.enum(ACTIONS)).min(1),
  })
  .strict();
type GrantFields = z.infer<typeof grantFields>;

const policyFields = z
  .object({
    discovery: z.boolean().optional(),
    accounts: z.array(apiKeySchema).min(1).optional(),
    exclude: z.array(accountRefSchema).optional(),
    grants: z.array(z.unknown()),
  })
  .strict();

const issuesOf = (error: z.ZodError, prefix: string) =>
  error.issues.map(
    (issue) => `${[prefix, ...issue.path].filter((p) => p !== '').join('.') || '(document)'}: ${issue.message}`,
  );

const hasName = (ref: unknown) => typeof ref === 'object' && ref !== null && 'name' in ref;

/** Every problem of one grant: its fields', and the rules across them, read from the raw grant. */
function grantProblems(raw: unknown, index: number, accounts: readonly string[] | null, discovery: boolean): string[] {
  const at = `grants.${index}`;
  const parsed = grantFields.safeParse(raw);
  const problems = parsed.success ? [] : issuesOf(parsed.error, at);
  const grant = (raw && typeof raw === 'object' ? raw : {}) as Partial<Record<keyof GrantFields, unknown>>;
  if ((grant.group === undefined) === (grant.email === undefined))
    problems.push(`${at}: must name exactly one of group or email`);
  const actions = Array.isArray(grant.actions) ? grant.actions : [];
  if (grant.accounts === undefined && actions.some(isAccountAction))
    problems.push(`${at}: must list accounts when it grants account actions (secrets:*, consumers:manage)`);
  for (const account of Array.isArray(grant.accounts) ? grant.accounts : []) {
    if (accounts && account !== '*' && typeof account === 'string' && !accounts.includes(account))
      problems.push(`${at}.accounts: "${account}" is not in the top-level accounts list`);
    if (!discovery && hasName(account))
      problems.push(`${at}.accounts: a name glob needs discovery (names come from Vonage)`);
  }
  return problems;
}

/** Api keys and name globs (`*` any run of characters, `?` one), matched against an account. */
export interface AccountMatcher {
  keys: ReadonlySet<string>;
  names: ReadonlyArray<{ glob: string }>;
}

/**
 * Wildcard matching in O(glob × text) at worst: on a mismatch it retries only from the last `*`, so no
 * glob can make a match take exponential time, as a regular expression with many `.*` can.
 */
export function globMatches(glob: string, text: string): boolean {
  let [g, t, star, resume] = [0, 0, -1, 0];
  while (t < text.length) {
    if (g < glob.length && (glob[g] === '?' || (glob[g] !== '*' && glob[g] === text[t]))) {
      g += 1;
      t += 1;
    } else if (g < glob.length && glob[g] === '*') {
      [star, resume] = [g, t];
      g += 1;
    } else if (star >= 0) {
      [g, resume] = [star + 1, resume + 1];
      t = resume;
    } else return false;
  }
  while (glob[g] === '*') g += 1;
  return g === glob.length;
}

export function accountMatcher(refs: ReadonlyArray<string | { name: string }>): AccountMatcher {
  return {
    keys: new Set(refs.filter((ref): ref is string => typeof ref === 'string')),
    names: refs.filter((ref): ref is { name: string } => typeof ref !== 'string').map(({ name }) => ({ glob: name })),
  };
}

export const matchesAccount = (matcher: AccountMatcher, account: { apiKey: string; name: string | null }) =>
  matcher.keys.has(account.apiKey) ||
  (account.name !== null && matcher.names.some(({ glob }) => globMatches(glob, account.name as string)));

/** An account the gateway manages now, as the last discovery named it (name null: not known). */
export interface ManagedAccount {
  apiKey: string;
  name: string | null;
  suspended: boolean;
}

/** The accounts managed now: discovered from Vonage, or the static list; src/estate/ keeps it current. */
export interface AccountDirectory {
  get(apiKey: string): ManagedAccount | undefined;
  list(): readonly ManagedAccount[];
  readonly source: 'vonage' | 'static';
}

/** A fixed list of accounts as a directory: looked up by api key, listed as given. */
export function directoryOf(accounts: readonly ManagedAccount[], source: 'vonage' | 'static'): AccountDirectory {
  const byKey = new Map(accounts.map((account) => [account.apiKey, account]));
  return { get: (apiKey) => byKey.get(apiKey), list: () => accounts, source };
}

/** The directory before (or without) discovery: the allow-list, nameless, none suspended. */
export function staticDirectory(keys: Iterable<string>, exclude: AccountMatcher): AccountDirectory {
  const accounts = [...new Set(keys)]
    .sort()
    .map((apiKey) => ({ apiKey, name: null, suspended: false }))
    .filter((account) => !matchesAccount(exclude, account));
  return directoryOf(accounts, 'static');
}

export interface Grant {
  group?: string;
  email?: string;
  accounts: '*' | AccountMatcher;
  actions: Set<Action>;
}

export interface Policy {
  /** Whether the account list comes from Vonage (the default). */
  discovery: boolean;
  /** The top-level `accounts`: the static list, and with discovery an allow-list; null when absent. */
  allow: ReadonlySet<string> | null;
  exclude: AccountMatcher;
  grants: readonly Grant[];
  /** The accounts managed now. From the file alone, the static list; the composition root binds the estate. */
  accounts: AccountDirectory;
}

export class PolicyError extends Error {
  /** Each problem prefixed with the file, so they read well among the config problems at start. */
  readonly problems: string[];
  constructor(file: string, problems: string[]) {
    super(`invalid access policy ${file}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'PolicyError';
    this.problems = problems.map((problem) => `ACCESS_POLICY_FILE ${file}: ${problem}`);
  }
}

export function parsePolicy(text: string, source: string): Policy {
  let document: unknown;
  try {
    document = parseYaml(text); // YAML is a superset of JSON, so one parser reads both forms
  } catch (error) {
    throw new PolicyError(source, [`not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`]);
  }
  const parsed = policyFields.safeParse(document);
  const raw = (document && typeof document === 'object' ? document : {}) as Record<string, unknown>;
  const discovery = raw.discovery !== false;
  const accounts = Array.isArray(raw.accounts) ? raw.accounts.filter((a): a is string => typeof a === 'string') : null;
  const grants = Array.isArray(raw.grants) ? raw.grants : [];
  const problems = [
    ...(parsed.success ? [] : issuesOf(parsed.error, '')),
    ...(!discovery && accounts === null ? ['accounts: must list the accounts when discovery is false'] : []),
    ...(!discovery && Array.isArray(raw.exclude) && raw.exclude.some(hasName)
      ? ['exclude: a name glob needs discovery (names come from Vonage)']
      : []),
    ...grants.flatMap((grant, index) => grantProblems(grant, index, accounts, discovery)),
  ];
  if (problems.length > 0 || !parsed.success) throw new PolicyError(source, problems);
  const exclude = accountMatcher(parsed.data.exclude ?? []);
  const allow = parsed.data.accounts ? new Set(parsed.data.accounts) : null;
  return {
    discovery,
    allow,
    exclude,
    accounts: staticDirectory(allow ?? [], exclude),
    grants: (grants as GrantFields[]).map((grant) => ({
      group: grant.group,
      email: grant.email?.toLowerCase(),
      accounts: grant.accounts?.includes('*')
        ? '*'
        : accountMatcher((grant.accounts ?? []) as Array<string | { name: string }>),
      actions: new Set(grant.actions),
    })),
  };
}

export function loadPolicy(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PolicyError(file, [`cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}`]);
  }
  return parsePolicy(text, file);
}
