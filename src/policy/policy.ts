import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isGroupName } from '../identity/identity-values.ts';
import { API_KEY_PATTERN } from '../vonage/identifiers.ts';

/**
 * The access policy: which Vonage api keys this gateway manages and who may do what to them.
 * Loaded and validated once at start; a bad file stops the service with every problem named.
 */

export const ACTIONS = ['secrets:read', 'secrets:create', 'secrets:revoke', 'audit:read'] as const;
export type Action = (typeof ACTIONS)[number];

const apiKeySchema = z.string().regex(API_KEY_PATTERN, 'must be 6-32 letters or digits');

/** Each field on its own; the rules across fields are checked beside them, so every problem is named. */
const grantFields = z
  .object({
    group: z.string().refine(isGroupName, 'must be a group name: printable ASCII, no spaces or commas').optional(),
    email: z.email().optional(),
    accounts: z
      .array(z.union([z.literal('*'), apiKeySchema]))
      .min(1)
      .optional(),
    actions: z.array(z.enum(ACTIONS)).min(1),
  })
  .strict();
type GrantFields = z.infer<typeof grantFields>;

const policyFields = z.object({ accounts: z.array(apiKeySchema).min(1), grants: z.array(z.unknown()) }).strict();

const issuesOf = (error: z.ZodError, prefix: string) =>
  error.issues.map(
    (issue) => `${[prefix, ...issue.path].filter((p) => p !== '').join('.') || '(document)'}: ${issue.message}`,
  );

/** Every problem of one grant: its fields', and the rules across them, read from the raw grant. */
function grantProblems(raw: unknown, index: number, accounts: readonly string[]): string[] {
  const at = `grants.${index}`;
  const parsed = grantFields.safeParse(raw);
  const problems = parsed.success ? [] : issuesOf(parsed.error, at);
  const grant = (raw && typeof raw === 'object' ? raw : {}) as Partial<Record<keyof GrantFields, unknown>>;
  if ((grant.group === undefined) === (grant.email === undefined))
    problems.push(`${at}: must name exactly one of group or email`);
  const actions = Array.isArray(grant.actions) ? grant.actions : [];
  if (grant.accounts === undefined && actions.some((action) => action !== 'audit:read'))
    problems.push(`${at}: must list accounts when it grants secrets:* actions`);
  for (const account of Array.isArray(grant.accounts) ? grant.accounts : []) {
    if (account !== '*' && typeof account === 'string' && !accounts.includes(account))
      problems.push(`${at}.accounts: "${account}" is not in the top-level accounts list`);
  }
  return problems;
}

export interface Grant {
  group?: string;
  email?: string;
  accounts: '*' | Set<string>;
  actions: Set<Action>;
}

export interface Policy {
  accounts: ReadonlySet<string>;
  grants: readonly Grant[];
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
  const raw = (document && typeof document === 'object' ? document : {}) as { accounts?: unknown; grants?: unknown };
  const accounts = Array.isArray(raw.accounts) ? raw.accounts.filter((a): a is string => typeof a === 'string') : [];
  const grants = Array.isArray(raw.grants) ? raw.grants : [];
  const problems = [
    ...(parsed.success ? [] : issuesOf(parsed.error, '')),
    ...grants.flatMap((grant, index) => grantProblems(grant, index, accounts)),
  ];
  if (problems.length > 0 || !parsed.success) throw new PolicyError(source, problems);
  const valid = grants as GrantFields[];
  return {
    accounts: new Set(parsed.data.accounts),
    grants: valid.map((grant) => ({
      group: grant.group,
      email: grant.email?.toLowerCase(),
      accounts: grant.accounts?.includes('*') ? '*' : new Set(grant.accounts ?? []),
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
