import { afterAll, describe, expect, test } from '@jest/globals';
import express from 'express';
import fc from 'fast-check';
import supertest from 'supertest';
import { leanJsonAnswers } from '../src/http/json-answers.ts';

interface Answer {
  status: number;
  body: unknown;
  type?: string;
}

/** An app answering whatever the test set last with res.json; `lean` has leanJsonAnswers installed. */
function answering(lean: boolean) {
  let next: Answer = { status: 200, body: null };
  const app = express();
  app.set('etag', false);
  if (lean) leanJsonAnswers(app);
  app.all('/answer', (_req, res) => {
    if (next.type) res.type(next.type);
    res.status(next.status).json(next.body);
  });
  const server = app.listen(0, '127.0.0.1');
  const set = (answer: Answer) => {
    next = answer;
  };
  return { server, set };
}

const lean = answering(true);
const plain = answering(false);
afterAll(() => {
  lean.server.close();
  plain.server.close();
});

const what = async (app: ReturnType<typeof answering>, method: 'get' | 'head' | 'post', answer: Answer) => {
  app.set(answer);
  const res = await supertest(app.server)
    [method]('/answer')
    .buffer(true)
    .parse((r, done) => {
      const chunks: Buffer[] = [];
      r.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => done(null, Buffer.concat(chunks).toString()));
    });
  const { date: _, ...headers } = res.headers;
  return { status: res.status, headers, order: Object.keys(headers), body: res.body as string };
};

describe('res.json with leanJsonAnswers', () => {
  test('when any JSON value is answered with any status, method and type, then the bytes are what Express sends', async () => {
    const answers = fc.record(
      {
        status: fc.constantFrom(200, 201, 203, 204, 205, 304, 400, 404, 503),
        body: fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.string({ unit: 'grapheme' })),
        type: fc.constantFrom('application/problem+json', 'text/plain'),
      },
      { requiredKeys: ['status', 'body'] },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('get', 'head', 'post'), answers, async (method, answer) => {
        expect(await what(lean, method, answer)).toEqual(await what(plain, method, answer));
      }),
      { numRuns: 150 },
    );
  });

  test('when the app has a JSON setting, then Express answers as configured', async () => {
    const app = express().set('json spaces', 2);
    leanJsonAnswers(app);
    app.get('/', (_req, res) => void res.json({ a: 1 }));
    const res = await supertest(app).get('/');
    expect(res.text).toBe('{\n  "a": 1\n}');
  });
});
