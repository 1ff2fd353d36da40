import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, test } from '@jest/globals';

/** The layer rules of .dependency-cruiser.cjs, run as `npm run lint` runs them in CI. */
const depcruise = (cwd: string) =>
  spawnSync(
    process.execPath,
    [
      resolve('node_modules/dependency-cruiser/bin/dependency-cruiser.mjs'),
      'src',
      '--config',
      resolve('.dependency-cruiser.cjs'),
    ],
    {
      cwd,
      encoding: 'utf8',
    },
  );

describe('npm run lint:layers', () => {
  test('when src/ is checked, then no import breaks a layer rule', () => {
    const result = depcruise('.');

    expect(result.stdout).toMatch(/no dependency violations found/);
    expect(result.status).toBe(0);
  });

  test('when a record imports the upstream client (the audit trail once did), then the check fails naming the rule', () => {
    const result = depcruise('test/fixtures/layers');

    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/records-below-use-cases: src\/audit\/trail\.ts → src\/vonage\/client\.ts/);
  });
});
