import { stopCluster } from './pg-cluster.ts';

export default async function globalTeardown(): Promise<void> {
  const { PGTEST_PID, PGTEST_DIR } = process.env;
  if (PGTEST_PID && PGTEST_DIR) await stopCluster({ pid: Number(PGTEST_PID), dir: PGTEST_DIR });
}
