import { describe, expect, test } from '@jest/globals';
import express from 'express';
import supertest from 'supertest';
import { readFileSync } from 'node:fs';
import { devIdentities, withDevSignIn } from '../src/dev/dev-sign-in.ts';
import { parsePolicy } from '../src/policy/policy.ts';
import { TEST_POLICY } from './support/harness.ts';

/** The dev server's sign-in, in front of an app that only says who it was told the caller is. */
const app = express().get('/whoami', (req, res) => res.json({ email: req.get('x-forwarded-email') ?? null }));
const http = supertest(withDevSignIn(parsePolicy(TEST_POLICY, 'test policy'), app));

describe('POST /dev/sign-in', () => {
  test.each([
    ['a foreign Origin', { Origin: 'https://evil.example' }],
    ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { 'Sec-Fetch-Site': 'same-site' }],
  ])('when a login CSRF arrives with %s, then 403 and no identity cookie is set', async (_label, headers) => {
    const res = await http.post('/dev/sign-in').set(headers).type('form').send({ identity: '0' });

    expect(res.status).toBe(403);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  test('when the sign-in page itself posts (same origin), then the identity is chosen and the console opens', async () => {
    const res = await http
      .post('/dev/sign-in')
      .set('Sec-Fetch-Site', 'same-origin')
      .type('form')
      .send({ identity: '0' });

    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/console/');
    expect(res.headers['set-cookie']?.[0]).toMatch(/HttpOnly; SameSite=Strict/);
  });
});

describe('the dev identity', () => {
  test('when /v1/me is asked through the dev server, then it says where to switch identity, for the console link', async () => {
    const res = await http.get('/v1/me');

    expect(res.headers['x-dev-sign-in']).toBe('/dev/sign-in');
  });

  test('when the dev policy gives developers everything, then the first identity offered is the one the banner uses', () => {
    const [first] = devIdentities(parsePolicy(readFileSync('src/dev/dev-policy.yaml', 'utf8'), 'dev policy'));

    expect(first).toMatchObject({ email: 'developers@dev.example', groups: ['developers'] });
  });
});
