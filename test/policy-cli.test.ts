import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runPolicyCli } from '../src/cli/policy.ts';
import { createDatabase } from '../src/database.ts';
import { saveDiscovered } from '../src/estate/store.ts';
import { createLogger } from '../src/logger.ts';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-db.ts';
import { TEST_POLICY } from './support/harness.ts';
import { captured } from './support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'policy-cli-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const good = file('good.yaml', TEST_POLICY);
const bad = file(
  'bad.yaml',
  'accounts: ["abcd/1234"]\ngrants:\n  - {group: g, email: a@b.co, actions: [audit:read]}\n  - {group: h, actions: [secrets:delete]}\n',
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) => captured(runPolicyCli, args);

describe('npm run policy -- check', () => {
  test('when the file is valid, then it exits 0', async () => {
    expect(await run('check', good)).toEqual({ code: 0, output: 'ok: 2 accounts, 4 grants\n' });
  });

  test('when the file has several problems, then it exits 1 and names every one', async () => {
    const { code, output } = await run('check', bad);

    expect(code).toBe(1);
    expect(output).toMatch(/accounts\.0: must be 6-32 letters or digits/);
    expect(output).toMatch(/grants\.1\.actions\.0/);
    expect(output).toMatch(/exactly one of group or email/);
  });

  test('when one grant has three problems, then all three are named, not only the first', async () => {
    const three = file(
      'three.yaml',
      'accounts: [abcd1234]\ngrants:\n  - {group: "payments team", actions: [secrets:read, secrets:fly]}\n',
    );

    const { code, output } = await run('check', three);

    expect(code).toBe(1);
    expect(output).toMatch(/grants\.0\.group: must be a group name/);
    expect(output).toMatch(/grants\.0\.actions\.1/);
    expect(output).toMatch(/grants\.0: must list accounts/);
  });

  test('when a group name has a space, which proxy headers and can-i refuse, then check refuses it too', async () => {
    const spaced = file(
      'spaced.yaml',
      'accounts: [abcd1234]\ngrants:\n  - {group: "team payments", actions: [audit:read]}\n',
    );

    expect(await run('check', spaced)).toMatchObject({
      code: 1,
      output: expect.stringMatching(/grants\.0\.group: must be a group name/),
    });
  });
});

describe('npm run policy -- an unknown command', () => {
  test('when the command is unknown, then it is named as unknown, not answered as a missing --policy', async () => {
    expect(await run('frobnicate')).toEqual({ code: 2, output: 'policy: unknown command "frobnicate"; see --help\n' });
  });
});

describe('npm run policy -- can-i', () => {
  test.each([
    [
      ['--email', 'alice@example.com', 'secrets:create', 'sub00001'],
      0,
      /^yes\n {2}grants\[2\]: email alice@example\.com/,
    ],
    [
      ['--email', 'a@example.com', '--groups', 'staff,platform-admins', 'secrets:revoke', 'abcd1234'],
      0,
      /^yes\n {2}grants\[0\]: group platform-admins/,
    ],
    [
      ['--email', 'alice@example.com', 'secrets:revoke', 'sub00001'],
      1,
      /^no\n {2}no grant gives secrets:revoke on sub00001 to alice@example\.com/,
    ],
    [['--email', 'r@example.com', '--groups', 'security-reviewers', 'audit:read'], 0, /^yes\n {2}grants\[3\]/],
    [
      ['--email', 'a@example.com', '--groups', 'platform-admins', 'secrets:read', 'zzzz9999'],
      1,
      /not in the policy's accounts/,
    ],
  ])('when asked %j, then it exits %i with the deciding grant', async (args, code, output) => {
    const result = await run('can-i', '--policy', good, ...args);

    expect(result.code).toBe(code);
    expect(result.output).toMatch(output);
  });

  test.each([
    ['no email', ['secrets:read', 'sub00001']],
    ['an unknown action', ['--email', 'a@example.com', 'secrets:delete', 'sub00001']],
    ['a secrets action without an account', ['--email', 'a@example.com', 'secrets:read']],
    ['a look-alike email', ['--email', '\u212Aate@example.com', 'secrets:read', 'sub00001']],
  ])('when the question has %s, then it exits 2 with a usage error', async (_label, args) => {
    expect(await run('can-i', '--policy', good, ...args)).toMatchObject({
      code: 2,
      output: expect.stringMatching(/^policy: /),
    });
  });
});

describe('npm run policy -- explain', () => {
  test('when asked about alice, then it prints what GET /v1/me would answer', async () => {
    const { code, output } = await run('explain', '--policy', good, '--email', 'Alice@Example.com');

    expect(code).toBe(0);
    expect(JSON.parse(output)).toEqual({
      email: 'alice@example.com',
      user: null,
      groups: [],
      accounts: [{ api_key: 'sub00001', actions: ['secrets:read', 'secrets:create'] }],
      actions: [],
    });
  });
});

describe('npm run policy -- check, against the last discovery', () => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    scratch = await createScratchDatabase('policy_cli');
    const db = createDatabase({ connectionString: scratch.gatewayUrl, logger: createLogger('error') });
    const account = (api_key: string, name: string) => ({ api_key, name, created_at: null, suspended: false });
    await saveDiscovered(db, account('abcd1234', 'primary'), [account('pay00001', 'payments-eu')]);
    await db.destroy();
  });
  afterAll(async () => {
    await scratch.drop();
  });

  test('when a grant names accounts that the last discovery did not find, then check warns about that grant', async () => {
    const policy = file(
      'globs.yaml',
      'grants:\n  - {group: pay, accounts: [{name: "payments-*"}], actions: [secrets:read]}\n' +
        '  - {group: crm, accounts: [{name: "crm-*"}, zzzz9999], actions: [secrets:read]}\n',
    );
    const { code, output } = await captured(runPolicyCli, ['check', policy], { DATABASE_URL: scratch.gatewayUrl });

    expect(code).toBe(0);
    expect(output).toMatch(/^ok: 2 accounts, 2 grants\n {2}resolved against the last discovery \(vonage, /);
    expect(output).not.toContain('grants[0]');
    expect(output).toContain(
      'warning: grants[1]: group crm → secrets:read on zzzz9999, name "crm-*" matches no managed account',
    );
  });

  test('when explain resolves a name glob, then the account it matches is listed by its key', async () => {
    const policy = file(
      'explain.yaml',
      'grants:\n  - {group: pay, accounts: [{name: "payments-*"}], actions: [secrets:read]}\n',
    );
    const { output } = await captured(
      runPolicyCli,
      ['explain', '--policy', policy, '--email', 'p@example.com', '--groups', 'pay'],
      { DATABASE_URL: scratch.gatewayUrl },
    );

    expect(JSON.parse(output).accounts).toEqual([{ api_key: 'pay00001', actions: ['secrets:read'] }]);
  });
});
