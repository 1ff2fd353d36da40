import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { assertAllowed } from '../src/policy/authorize.ts';
import { globMatches, parsePolicy, PolicyError } from '../src/policy/policy.ts';
import { TEST_POLICY } from './support/harness.ts';

const policy = parsePolicy(TEST_POLICY, 'test');
const who = (email: string, ...groups: string[]) => ({ email, user: null, groups });

describe('parsePolicy', () => {
  test('when the policy is JSON, then it reads the same as YAML', () => {
    const json = JSON.stringify({
      accounts: ['abcd1234'],
      grants: [{ group: 'ops', accounts: ['*'], actions: ['secrets:read'] }],
    });

    expect(parsePolicy(json, 'json').allow).toEqual(new Set(['abcd1234']));
  });

  test.each([
    ['not YAML at all', 'accounts: [unclosed', /not valid YAML or JSON/],
    ['no accounts, with discovery off', 'discovery: false\ngrants: []', /accounts: must list the accounts/],
    [
      'a name glob, with discovery off',
      'discovery: false\naccounts: [abcd1234]\ngrants: [{group: g, accounts: [{name: "pay-*"}], actions: [secrets:read]}]',
      /grants\.0\.accounts: a name glob needs discovery/,
    ],
    [
      'a name glob with an unknown key',
      'grants: [{group: g, accounts: [{nme: "x"}], actions: [secrets:read]}]',
      /grants\.0\.accounts\.0/,
    ],
    [
      'an unknown action',
      'accounts: [abcd1234]\ngrants: [{group: g, accounts: ["*"], actions: [secrets:delete]}]',
      /grants\.0\.actions\.0/,
    ],
    [
      'a grant on an unlisted account',
      'accounts: [abcd1234]\ngrants: [{group: g, accounts: [other999], actions: [secrets:read]}]',
      /"other999" is not in the top-level accounts list/,
    ],
    [
      'a grant with both group and email',
      'accounts: [abcd1234]\ngrants: [{group: g, email: a@b.co, accounts: ["*"], actions: [secrets:read]}]',
      /exactly one of group or email/,
    ],
    [
      'a secrets grant without accounts',
      'accounts: [abcd1234]\ngrants: [{group: g, actions: [secrets:read]}]',
      /must list accounts/,
    ],
    ['an unknown key', 'accounts: [abcd1234]\ngrants: []\nadmins: [me]', /admins|Unrecognized/],
    ['an api key with a slash', 'accounts: ["abcd/1234"]\ngrants: []', /accounts\.0: must be 6-32 letters or digits/],
  ])('when the file has %s, then loading fails and names the problem', (_label, text, message) => {
    expect(() => parsePolicy(text, '/etc/policy.yaml')).toThrow(PolicyError);
    expect(() => parsePolicy(text, '/etc/policy.yaml')).toThrow(message);
  });
});

describe('assertAllowed', () => {
  test.each([
    ['a group grant on every account', who('x@example.com', 'platform-admins'), 'secrets:revoke', 'abcd1234', true],
    [
      'a group grant limited to a sub-account, on that account',
      who('x@example.com', 'team-payments'),
      'secrets:read',
      'sub00001',
      true,
    ],
    [
      'a group grant limited to a sub-account, on another',
      who('x@example.com', 'team-payments'),
      'secrets:read',
      'abcd1234',
      false,
    ],
    ['a read-only grant asked to create', who('x@example.com', 'team-payments'), 'secrets:create', 'sub00001', false],
    ['an email grant', who('alice@example.com'), 'secrets:create', 'sub00001', true],
    ['an email grant for someone else', who('mallory@example.com'), 'secrets:create', 'sub00001', false],
    ['audit:read from the reviewers group', who('r@example.com', 'security-reviewers'), 'audit:read', null, true],
    ['audit:read from admins', who('x@example.com', 'platform-admins'), 'audit:read', null, false],
  ] as const)('when the caller has %s, then allowed is %s', (_label, identity, action, apiKey, allowed) => {
    const check = () => assertAllowed(policy, { ...identity, groups: [...identity.groups] }, action, apiKey);
    if (allowed) expect(check).not.toThrow();
    else expect(check).toThrow(expect.objectContaining({ status: 403 }));
  });
});

describe('name globs', () => {
  /** The reference: the same glob as an anchored regular expression (fine for short inputs). */
  const reference = (glob: string, text: string) =>
    new RegExp(
      `^${glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replaceAll('*', '.*')
        .replaceAll('?', '.')}$`,
      's',
    ).test(text);

  test('when any glob meets any name, then it matches exactly when the equivalent regular expression does', () => {
    const alphabet = fc.constantFrom('a', 'b', '-', '*', '?', '.');
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 8 }),
        fc.string({ unit: fc.constantFrom('a', 'b', '-', '.'), maxLength: 10 }),
        (glob, name) => {
          expect(globMatches(glob, name)).toBe(reference(glob, name));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  test('when a glob has many stars and the name almost matches, then it is refused (a regular expression would backtrack for ages)', () => {
    expect(globMatches(`${'*a'.repeat(60)}*b`, 'a'.repeat(200))).toBe(false);
    expect(globMatches(`${'*a'.repeat(60)}*b`, `${'a'.repeat(200)}b`)).toBe(true);
  });
});
