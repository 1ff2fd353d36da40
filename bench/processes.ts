/**
 * The processes `npm run bench` measures, each started as its own Node process so the load generator
 * does not share an event loop with what it measures:
 *   node bench/processes.ts fake <port>              the Vonage sandbox (fast, in-memory)
 *   node bench/processes.ts proxy <port> <fakeUrl>   a minimal keep-alive proxy: no middleware at all
 *   node bench/processes.ts floor <port> <fakeUrl>   the Express floor: Express 5 + helmet + express.json + an
 *                                                    undici pool, and nothing else (the fixed stack's own cost)
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';
import { startVonageSandbox } from '../src/dev/vonage-sandbox.ts';

const [role, portArg, target] = process.argv.slice(2);
const port = Number(portArg);

if (role === 'fake') {
  await startVonageSandbox({ masterKey: 'abcd1234', masterSecret: 'Bench5ecretValue', maxSecrets: 1_000_000 }, port);
  console.log('ready');
} else if (role === 'proxy') {
  const pool = new Pool(target as string, { connections: 32, keepAliveTimeout: 10_000 });
  createServer(async (req, res) => {
    try {
      const upstream = await pool.request({
        method: 'GET',
        path: req.url ?? '/',
        headers: { authorization: req.headers.authorization ?? '' },
      });
      res.writeHead(upstream.statusCode, { 'content-type': 'application/json' });
      for await (const chunk of upstream.body) res.write(chunk);
      res.end();
    } catch {
      // The fake not listening yet (the bench polls both at start) must not end the proxy.
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
    }
  }).listen(port, '127.0.0.1', () => console.log('ready'));
} else if (role === 'floor') {
  // The naive way to write the same GET list with the fixed stack: no identity, policy, limits or checks.
  // SIGTERM ends it as an exit, so a profile it was started with (npm run bench:profile) is written.
  process.once('SIGTERM', () => process.exit(0));
  const { default: express } = await import('express');
  const { default: helmet } = await import('helmet');
  const pool = new Pool(target as string, { connections: 32, keepAliveTimeout: 10_000 });
  const basic = `Basic ${Buffer.from('abcd1234:Bench5ecretValue').toString('base64')}`;
  const app = express();
  app.use(helmet());
  app.use(express.json());
  app.get('/v1/accounts/:apiKey/secrets', async (req, res) => {
    try {
      const upstream = await pool.request({
        method: 'GET',
        path: `/accounts/${encodeURIComponent(req.params.apiKey)}/secrets`,
        headers: { authorization: basic, accept: 'application/json' },
      });
      const body = (await upstream.body.json()) as {
        _embedded: { secrets: Array<{ id: string; created_at: string }> };
      };
      res
        .status(upstream.statusCode)
        .json({ secrets: body._embedded.secrets.map(({ id, created_at }) => ({ id, created_at })) });
    } catch {
      if (!res.headersSent) res.status(502).json({ error: 'upstream' });
    }
  });
  app.get('/', (_req, res) => void res.json({ ok: true }));
  app.listen(port, '127.0.0.1', () => console.log('ready'));
} else {
  throw new Error(`unknown role ${role}`);
}
