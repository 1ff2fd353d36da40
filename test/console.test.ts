import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type Gateway, startGateway } from './support/harness.ts';

/** The console's static side: served without identity, under a strict CSP, with no dev code in it. */
let gateway: Gateway;
beforeAll(async () => {
  gateway = await startGateway();
});
afterAll(async () => {
  await gateway.close();
});

describe('GET /console/', () => {
  test('when / is requested, then it redirects to the console', async () => {
    const res = await gateway.http.get('/');

    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/console/');
  });

  test.each([
    ['/console/', /text\/html/],
    ['/console/console.js', /javascript/],
    ['/console/console.css', /text\/css/],
  ])(
    'when %s is fetched without identity, then it is served with a CSP that allows nothing inline or foreign',
    async (path, type) => {
      const res = await gateway.http.get(path);

      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(type);
      const csp = res.headers['content-security-policy'];
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers['x-frame-options']).toBe('DENY'); // agrees with frame-ancestors 'none'
      expect(res.headers['cache-control']).toBe('no-cache'); // a deploy is seen at the next load
    },
  );

  test('when the page is read, then it has no inline script or style', async () => {
    const res = await gateway.http.get('/console/');

    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.text).not.toMatch(/<style|style=/);
  });
});

describe('the production build', () => {
  test('when the bundle and the app are inspected, then no dev sign-in is in them', async () => {
    const bundle = readFileSync(join(process.env.CONSOLE_DIR ?? '', 'console.js'), 'utf8');

    const page = await gateway.http.get('/dev/sign-in');
    const withCookie = await gateway.http.get('/v1/me').set('Cookie', 'dev_identity=0');

    expect(bundle).not.toMatch(/dev_identity|dev\/sign-in/);
    expect(page.status).toBe(404);
    expect(withCookie.status).toBe(401);
  });
});
