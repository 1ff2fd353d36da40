import { spawnSync } from 'node:child_process';
import { describe, expect, test } from '@jest/globals';

describe('npm start with bad configuration', () => {
  test('when several settings are missing or wrong, then the process exits 1 with one message listing every problem and no value', () => {
    const env = {
      PATH: process.env.PATH,
      PORT: 'eighty',
      VONAGE_API_SECRET: 'Leak5ecretValue',
      VONAGE_BASE_URL: 'http://api.nexmo.com',
      ACCESS_POLICY_FILE: '/nonexistent/policy.yaml',
      AUTH_MODE: 'jwt',
    };

    const result = spawnSync(process.execPath, ['src/server.ts'], { env, encoding: 'utf8', timeout: 20_000 });

    expect(result.status).toBe(1);
    expect(result.stderr.match(/^ {2}- /gm)).toHaveLength(10);
    expect(result.stderr).toMatch(
      /^invalid configuration:\n {2}- PORT must be a whole number\n {2}- DATABASE_URL is required/,
    );
    expect(result.stderr).toMatch(/AUTH_JWT_AUDIENCE is required in jwt mode/);
    expect(result.stderr).toMatch(/ACCESS_POLICY_FILE \/nonexistent\/policy.yaml: cannot be read: ENOENT/);
    expect(result.stderr).not.toContain('Leak5ecretValue');
  });
});
