import { describe, expect, test } from '@jest/globals';
import express, { type RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import request from 'supertest';
import { securityHeaders } from '../src/http/security-headers.ts';

/** The answer's headers, with the ones only Node sets (date, connection) left out. */
async function headersWith(middleware: RequestHandler): Promise<Array<[string, string]>> {
  const app = express();
  app.use(middleware);
  app.get('/', (_req, res) => void res.json({ ok: true }));
  const res = await request(app).get('/');
  const raw = res.headers as Record<string, string>;
  return Object.entries(raw).filter(([name]) => !['date', 'connection', 'keep-alive'].includes(name));
}

describe('securityHeaders(options)', () => {
  test.each<[string, HelmetOptions]>([
    ['the defaults', {}],
    [
      'the gateway’s options',
      { xFrameOptions: { action: 'deny' }, contentSecurityPolicy: { directives: { 'frame-ancestors': ["'none'"] } } },
    ],
    ['headers turned off', { strictTransportSecurity: false, contentSecurityPolicy: false, xXssProtection: false }],
    [
      'a report-only policy',
      { contentSecurityPolicy: { reportOnly: true, directives: { 'default-src': ["'none'"] } } },
    ],
  ])('when given %s, then an answer carries exactly helmet’s headers, in helmet’s order', async (_label, options) => {
    const [prepared, helmets] = await Promise.all([
      headersWith(securityHeaders(options)),
      headersWith(helmet(options)),
    ]);

    expect(prepared).toEqual(helmets);
    expect(prepared.length).toBeGreaterThan(2);
  });

  test('when a header set before it is one helmet removes (X-Powered-By), then the answer does not carry it', async () => {
    const app = express();
    app.use((_req, res, next) => {
      res.setHeader('X-Powered-By', 'Express');
      next();
    });
    app.use(securityHeaders({}));
    app.get('/', (_req, res) => void res.end());

    const res = await request(app).get('/');

    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  test('when a CSP directive is computed per request (a nonce), then it refuses to prepare the headers', () => {
    const nonce = () => "'nonce-abc'";

    expect(() => securityHeaders({ contentSecurityPolicy: { directives: { 'script-src': [nonce] } } })).toThrow(
      /computed per request/,
    );
  });
});
