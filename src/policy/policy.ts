import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { API_KEY_PATTERN } from '../vonage/identifiers.ts';

/**
 * The access policy: which Vonage api keys this gateway manages and who may do what to them.
 * Loaded and validated once at start; a bad file stops the service with every problem named.
 */

export const ACTIONS = ['secrets:read', 'secrets:create', 'secrets:revoke', 'audit:read'] as const;
export type Action = (typeof ACTIONS)[number];

const apiKeySchema = z.string().regex(API_KEY_PATTERN, 'must be 6-32 letters or digits');

const grantSchema = z
  .object({
    group: z.string().min(1).optional(),
    email: z.email().optional(),
    accounts: z
      .array(z.union([z.literal('*'), apiKeySchema]))
      .min(1)
      .optional(),
    actions: z.array(z.enum(ACTIONS)).min(1),
  })
  .strict()
  .refine(
    (grant) => (grant.group === undefined) !== (grant.email === undefined),
    'must name exactly one of group or email',
  )
  .refine(
    (grant) => grant.accounts !== undefined || grant.actions.every((action) => action === 'audit:read'),
    'must list accounts when it grants secrets:* actions',
  );

const policySchema = z
  .object({ accounts: z.array(apiKeySchema).min(1), grants: z.array(grantSchema) })
  .strict()
  .superRefine((policy, ctx) => {
    policy.grants.forEach((grant, index) => {
      for (const account of grant.accounts ?? []) {
        if (account !== '*' && !policy.accounts.includes(account)) {
          ctx.addIssue({
            code: 'custom',
            path: ['grants', index, 'accounts'],
            message: `"${account}" is not in the top-level accounts list`,
          });
        }
      }
    });
  });

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
  const parsed = policySchema.safeParse(document);
  if (!parsed.success) {
    throw new PolicyError(
      source,
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(document)'}: ${issue.message}`),
    );
  }
  return {
    accounts: new Set(parsed.data.accounts),
    grants: parsed.data.grants.map((grant) => ({
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
