import { strictRouter } from './strict-router.ts';
import type { Router } from 'express';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../database.ts';

export interface Lifecycle {
  /** True once SIGTERM arrived: readiness fails so the load balancer stops sending new requests. */
  isDraining(): boolean;
}

const READINESS_TIMEOUT_MS = 1_000;

async function databaseAnswers(db: Kysely<Database>): Promise<boolean> {
  const timeout = new Promise<false>((resolve) => setTimeout(resolve, READINESS_TIMEOUT_MS, false).unref());
  const query = sql`select 1`.execute(db).then(
    () => true,
    () => false,
  );
  return Promise.race([query, timeout]);
}

/** Liveness never looks at Postgres or Vonage; readiness asks the database, since writes need it. */
export function healthRouter(db: Kysely<Database>, lifecycle: Lifecycle): Router {
  const router = strictRouter();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const ready = !lifecycle.isDraining() && (await databaseAnswers(db));
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready' });
  });
  return router;
}
