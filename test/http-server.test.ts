import { createServer, IncomingMessage, type Server, ServerResponse } from 'node:http';
import { afterEach, describe, expect, test } from '@jest/globals';
import express from 'express';
import supertest from 'supertest';
import { httpServer } from '../src/http/http-server.ts';

/** An app using what Express adds to requests and responses: reads, status, headers and a JSON answer. */
function probeApp() {
  const app = express();
  app.set('trust proxy', 'loopback');
  app.get('/probe/:id', (req, res) => {
    res.set('X-Probe', String(req.get('x-asked') ?? 'none'));
    res.status(203).json({ id: req.params.id, query: req.query, ip: req.ip, xhr: req.xhr, path: req.path });
  });
  return app;
}

/** Counts the requests and responses whose prototype is changed (not set again to the one they have). */
function countReparenting(): { count: () => number; restore: () => void } {
  const original = Object.setPrototypeOf;
  let changed = 0;
  Object.setPrototypeOf = (target: object, proto: object | null) => {
    const ours = target instanceof IncomingMessage || target instanceof ServerResponse;
    if (ours && Object.getPrototypeOf(target) !== proto) changed += 1;
    return original(target, proto);
  };
  const restore = () => {
    Object.setPrototypeOf = original;
  };
  return { count: () => changed, restore };
}

const servers: Server[] = [];
const started = (server: Server) => {
  servers.push(server);
  return server;
};
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

describe('httpServer', () => {
  test.each([
    ['httpServer', 0, httpServer],
    ['a plain createServer (the control)', 2, (app: express.Express) => createServer(app)],
  ])('when %s serves a request, then Express re-parents %d of its objects', async (_, count, serve) => {
    const server = started(serve(probeApp()));
    const counting = countReparenting();
    try {
      await supertest(server).get('/probe/a').expect(203);
    } finally {
      counting.restore();
    }
    expect(counting.count()).toBe(count);
  });

  test('when Express helpers read the request and write the answer, then it is what a plain server sends', async () => {
    const ask = (app: express.Express, make: (app: express.Express) => Server) =>
      supertest(started(make(app)))
        .get('/probe/7?x=1&y=two')
        .set('X-Asked', 'yes')
        .set('X-Forwarded-For', '203.0.113.9')
        .set('X-Requested-With', 'XMLHttpRequest');
    const plain = await ask(probeApp(), (app) => createServer(app));
    const born = await ask(probeApp(), httpServer);
    expect(born.status).toBe(203);
    expect(born.body).toEqual({ id: '7', query: { x: '1', y: 'two' }, ip: '203.0.113.9', xhr: true, path: '/probe/7' });
    expect(born.body).toEqual(plain.body);
    const { date: _d, ...bornHeaders } = born.headers;
    const { date: _p, ...plainHeaders } = plain.headers;
    expect(bornHeaders).toEqual(plainHeaders);
  });
});
