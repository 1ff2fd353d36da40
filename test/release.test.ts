import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { parse } from 'yaml';

/** One version everywhere a release names it, and a CHANGELOG section that says what it holds. */
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
  version: string;
  packages: Record<string, { version?: string }>;
};
const contract = parse(readFileSync('openapi-internal.yaml', 'utf8')) as { info: { version: string } };
const changelog = readFileSync('CHANGELOG.md', 'utf8');

describe('the release version', () => {
  test('when package.json, the lockfile and the contract are read, then they name the same version', () => {
    expect([lock.version, lock.packages['']?.version, contract.info.version]).toEqual([
      pkg.version,
      pkg.version,
      pkg.version,
    ]);
  });

  test('when the CHANGELOG is read, then Unreleased comes first and the version has its dated section with upgrade notes', () => {
    const sections = [...changelog.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(sections[0]).toBe('[Unreleased]');
    expect(sections[1]).toMatch(new RegExp(`^\\[${pkg.version.replaceAll('.', '\\.')}\\] - \\d{4}-\\d{2}-\\d{2}$`));
    const section = changelog.split(/^## /m)[2] ?? '';
    expect(section).toMatch(/^### Upgrade notes$/m);
  });
});
