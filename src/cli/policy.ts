import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createDatabase } from '../database.ts';
import { managedAccounts } from '../estate/directory.ts';
import { readSnapshot, type Snapshot } from '../estate/store.ts';
import type { Identity } from '../identity/identity.ts';
import { normaliseEmail, validGroups } from '../identity/identity-values.ts';
import { decide } from '../policy/authorize.ts';
import { capabilities } from '../policy/capabilities.ts';
import { createLogger } from '../logger.ts';
import {
  ACTIONS,
  type Action,
  type Grant,
  isAccountAction,
  loadPolicy,
  matchesAccount,
  type Policy,
  PolicyError,
} from '../policy/policy.ts';

export const HELP = `Usage: npm run policy -- <command> [options]

Policy as code: check an access policy in a pull request, and ask what it allows, with the same
validation and the same decisions the service uses.

Commands:
  check FILE                                   validate; exit 1 naming every problem
  can-i --email E [--groups g1,g2] ACTION [API_KEY]
                                               print yes or no and the grant that decided; exit 0 yes, 1 no
  explain --email E [--groups g1,g2]           print what GET /v1/me would answer

Options:
  --policy FILE   the policy for can-i and explain (default: $ACCESS_POLICY_FILE)

With DATABASE_URL set, account names and the account list come from the gateway's last discovery
(read only), and check says which grants match no account. Without it, only the policy's own
\`accounts\` list is known (VONAGE_API_KEY names the primary account when the policy has none).

Actions: ${ACTIONS.join(', ')}

Examples:
  npm run policy -- check k8s/base/policy.yaml
  npm run policy -- can-i --policy k8s/base/policy.yaml --email alice@example.com secrets:create sub00001
`;

const OPTIONS = {
  email: { type: 'string' },
  groups: { type: 'string' },
  policy: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

const describeGrant = (index: number, grant: Grant) => {
  const who = grant.email !== undefined ? `email ${grant.email}` : `group ${grant.group}`;
  const where =
    grant.accounts === '*'
      ? 'all accounts'
      : [...grant.accounts.keys, ...grant.accounts.names.map((n) => `name "${n.glob}"`)].join(', ');
  return `grants[${index}]: ${who} → ${[...grant.actions].join(', ')} on ${where}`;
};

function identityFrom(values: { email?: string; groups?: string }): Identity {
  if (!values.email) throw new UsageError('--email is required');
  try {
    const groups = values.groups ? validGroups(values.groups.split(','), 'malformed', '--groups') : [];
    return { email: normaliseEmail(values.email, 'malformed', '--email'), user: null, groups };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function canI(policy: Policy, identity: Identity, positionals: string[], out: (text: string) => void): number {
  const [action, apiKey] = positionals as [string | undefined, string | undefined];
  if (!action || !ACTIONS.includes(action as Action))
    throw new UsageError(`ACTION must be one of ${ACTIONS.join(', ')}`);
  if (isAccountAction(action) && !apiKey) throw new UsageError(`${action} needs an API_KEY`);
  const decision = decide(policy, identity, action as Action, isAccountAction(action) ? (apiKey as string) : null);
  if (decision.grant) out(`yes\n  ${describeGrant(decision.grant.index, decision.grant.grant)}\n`);
  else if (decision.reason === 'unmanaged_account')
    out(`no\n  ${apiKey} is not managed: not in the policy's accounts or the last discovery (answered 404)\n`);
  else
    out(
      `no\n  no grant gives ${action}${apiKey ? ` on ${apiKey}` : ''} to ${identity.email} (groups: ${identity.groups.join(', ') || 'none'})\n`,
    );
  return decision.allowed ? 0 : 1;
}

const said = (out: (text: string) => void, text: string, code: number) => {
  out(text);
  return code;
};

/** The last discovery, read only, when DATABASE_URL is set; null otherwise. */
async function lastDiscovery(env: NodeJS.ProcessEnv): Promise<Snapshot | null> {
  if (!env.DATABASE_URL) return null;
  const db = createDatabase({
    connectionString: env.DATABASE_URL,
    logger: createLogger('error'),
    readOnly: true,
    max: 1,
  });
  try {
    return await readSnapshot(db);
  } finally {
    await db.destroy();
  }
}

/** The policy as the service would apply it now: its accounts resolved against the last discovery. */
function resolved(policy: Policy, snapshot: Snapshot | null, env: NodeJS.ProcessEnv): Policy {
  if (!snapshot) return policy;
  return { ...policy, accounts: managedAccounts(policy, snapshot, env.VONAGE_API_KEY ?? '') };
}

/** What check prints: counts, and each grant that names accounts yet matches none managed now. */
function checked(policy: Policy, snapshot: Snapshot | null): string {
  const accounts = policy.accounts.list();
  const lines = [`ok: ${accounts.length} accounts, ${policy.grants.length} grants\n`];
  if (!snapshot) {
    const byName = policy.grants.some((g) => g.accounts !== '*' && g.accounts.names.length > 0);
    if (policy.discovery && (policy.allow === null || byName))
      lines.push('  accounts not resolved: set DATABASE_URL to read the last discovery\n');
    return lines.join('');
  }
  const when = snapshot.refreshedAt?.toISOString() ?? 'never';
  lines.push(`  resolved against the last discovery (${policy.accounts.source}, ${when})\n`);
  policy.grants.forEach((grant, index) => {
    const matcher = grant.accounts;
    if (matcher === '*' || (matcher.keys.size === 0 && matcher.names.length === 0)) return;
    const matched = accounts.filter((account) => matchesAccount(matcher, account)).length;
    if (matched === 0) lines.push(`  warning: ${describeGrant(index, grant)} matches no managed account\n`);
  });
  return lines.join('');
}

/** Runs one command, writing to `out`; resolves to the exit code (2 for a usage error). */
export async function runPolicyCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  out: (text: string) => void,
): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
  const [command, ...rest] = positionals;
  if (values.help || !command) return said(out, HELP, values.help ? 0 : 2);
  try {
    if (command === 'check') {
      if (!rest[0]) throw new UsageError('check needs a FILE');
      const snapshot = await lastDiscovery(env);
      return said(out, checked(resolved(loadPolicy(rest[0]), snapshot, env), snapshot), 0);
    }
    if (command !== 'can-i' && command !== 'explain') throw new UsageError(`unknown command "${command}"; see --help`);
    const file = values.policy ?? env.ACCESS_POLICY_FILE;
    if (!file) throw new UsageError('--policy FILE (or ACCESS_POLICY_FILE) is required');
    const identity = identityFrom(values);
    const policy = resolved(loadPolicy(file), await lastDiscovery(env), env);
    if (command === 'can-i') return canI(policy, identity, rest, out);
    out(`${JSON.stringify({ ...identity, ...capabilities(policy, identity) }, null, 2)}\n`); // explain
    return 0;
  } catch (error) {
    if (error instanceof PolicyError) return said(out, `${error.message}\n`, 1);
    if (error instanceof UsageError) return said(out, `policy: ${error.message}\n`, 2);
    throw error;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runPolicyCli(process.argv.slice(2), process.env, (text) => process.stdout.write(text)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      console.error(`policy: ${error.message}`);
      process.exitCode = 2;
    },
  );
}
