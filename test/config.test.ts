import { describe, expect, test } from '@jest/globals';
import { ConfigError, loadConfig } from '../src/config.ts';

const valid = {
  DATABASE_URL: 'postgres://gateway@db:5432/gateway',
  VONAGE_API_KEY: 'abcd1234',
  VONAGE_API_SECRET: 'Cfg5ecretValue',
  ACCESS_POLICY_FILE: '/etc/gateway/policy.yaml',
  IDEMPOTENCY_HMAC_KEY: 'k'.repeat(32),
};

describe('loadConfig', () => {
  test('when only the required variables are set, then the documented defaults apply', () => {
    expect(loadConfig(valid)).toEqual({
      port: 8080,
      databaseUrl: valid.DATABASE_URL,
      vonage: {
        apiKey: 'abcd1234',
        apiSecret: 'Cfg5ecretValue',
        baseUrl: 'https://api.nexmo.com',
        timeoutMs: 10_000,
        connectTimeoutMs: 3_000,
        headersTimeoutMs: 8_000,
        bodyTimeoutMs: 8_000,
        getRetries: 2,
      },
      breaker: { failureThreshold: 5, openMs: 10_000 },
      accessPolicyFile: valid.ACCESS_POLICY_FILE,
      idempotencyHmacKey: 'k'.repeat(32),
      trustedProxyCidrs: ['loopback'],
      rateLimits: { readsPerMinute: 120, writesPerMinute: 10 },
      logLevel: 'info',
      shutdownTimeoutMs: 25_000,
      drainDelayMs: 5_000,
      metricsPort: 9464,
      auth: { mode: 'headers' },
      corsAllowedOrigins: [],
      secretMaxAgeDays: 90,
      rotationStaleAfterHours: 72,
      accountDiscoveryIntervalMinutes: 15,
      auditStream: undefined,
      auditAnchorIntervalMinutes: 60,
      auditVerifyIntervalMinutes: 5,
      auditFullVerifyIntervalHours: 24,
      exportIdleTimeoutSeconds: 60,
      delivery: { tokens: undefined, minIntervalSeconds: 3600 },
    });
  });

  test('when several variables are wrong, then one error lists every problem and no value', () => {
    const env = {
      PORT: '80x',
      VONAGE_API_SECRET: '',
      VONAGE_BASE_URL: 'http://api.nexmo.com',
      TRUSTED_PROXY_CIDRS: '10.0.0.0/33',
      LOG_LEVEL: 'loud',
    };

    const error = (() => {
      try {
        loadConfig(env);
      } catch (caught) {
        return caught as ConfigError;
      }
      throw new Error('expected loadConfig to throw');
    })();

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems.map((p) => p.split(' ')[0])).toEqual([
      'PORT',
      'DATABASE_URL',
      'VONAGE_API_KEY',
      'VONAGE_API_SECRET',
      'VONAGE_BASE_URL',
      'ACCESS_POLICY_FILE',
      'IDEMPOTENCY_HMAC_KEY',
      'TRUSTED_PROXY_CIDRS',
      'LOG_LEVEL',
    ]);
    expect(error.message).not.toContain('10.0.0.0/33x');
  });

  test.each([
    ['a path on the base URL', { VONAGE_BASE_URL: 'https://api.nexmo.com/v2' }],
    ['credentials in the base URL', { VONAGE_BASE_URL: 'https://user:pw@api.nexmo.com' }],
    ['plain http to a remote host', { VONAGE_BASE_URL: 'http://api.nexmo.com' }],
    ['a rate limit of zero', { RATE_LIMIT_WRITES_PER_MINUTE: '0' }],
    ['a database URL that is not postgres', { DATABASE_URL: 'mysql://db/x' }],
    ['a delivery token HMAC key shorter than 32 characters', { DELIVERY_TOKEN_HMAC_KEY: 'short-key' }],
    ['a delivery URL that is not the generator endpoint', { DELIVERY_URL: 'http://gateway.svc/v1/secrets' }],
    ['a delivery interval under a minute (a loop could churn secrets)', { DELIVERY_MIN_INTERVAL_SECONDS: '5' }],
  ])('when the environment has %s, then it is refused', (_label, override) => {
    expect(() => loadConfig({ ...valid, ...override })).toThrow(ConfigError);
  });

  test('when AUDIT_STREAM_URL carries a password, then start is refused, saying why, without printing it', () => {
    const env = {
      ...valid,
      AUDIT_STREAM_URL: 'https://user:hunter2-pass@siem.example.com/hook',
      AUDIT_STREAM_SECRET: 'whsec_eHh4',
    };

    const error = (() => {
      try {
        loadConfig(env);
      } catch (thrown) {
        return thrown as ConfigError;
      }
      throw new Error('accepted');
    })();

    expect(error.problems).toEqual([expect.stringMatching(/^AUDIT_STREAM_URL must not carry credentials/)]);
    expect(error.message).not.toContain('hunter2-pass');
  });

  test('when the upstream is a loopback fake over http, then it is accepted', () => {
    expect(loadConfig({ ...valid, VONAGE_BASE_URL: 'http://127.0.0.1:9999' }).vonage.baseUrl).toBe(
      'http://127.0.0.1:9999',
    );
  });

  test('when jwt mode has no audience and a bad algorithm list, then both are reported with the other problems', () => {
    const env = {
      ...valid,
      PORT: 'x',
      AUTH_MODE: 'jwt',
      AUTH_JWT_PRESET: 'google-iap',
      AUTH_JWT_ALGORITHMS: 'HS256,none',
    };

    expect(() => loadConfig(env)).toThrow(
      /PORT[\s\S]*AUTH_JWT_ALGORITHMS\.0 only asymmetric[\s\S]*AUTH_JWT_AUDIENCE is required in jwt mode/,
    );
  });

  test('when a preset is chosen, then its header, keys and issuer apply and generic settings override them', () => {
    const config = loadConfig({
      ...valid,
      AUTH_MODE: 'jwt',
      AUTH_JWT_PRESET: 'google-iap',
      AUTH_JWT_AUDIENCE: '/projects/1/global/backendServices/2',
      AUTH_JWT_CLOCK_TOLERANCE_S: '10',
    });

    expect(config.auth).toEqual({
      mode: 'jwt',
      jwt: expect.objectContaining({
        preset: 'google-iap',
        header: 'x-goog-iap-jwt-assertion',
        keys: { kind: 'jwks', url: 'https://www.gstatic.com/iap/verify/public_key-jwk' },
        issuer: 'https://cloud.google.com/iap',
        algorithms: ['ES256'],
        clockToleranceSeconds: 10,
      }),
    });
  });
});
