import { rmSync } from 'node:fs';
import { stopCluster } from './pg-cluster.ts';

export default async function globalTeardown(): Promise<void> {
  const { PGTEST_PID, PGTEST_DIR, CONSOLE_DIR } = process.env;
  if (CONSOLE_DIR) rmSync(CONSOLE_DIR, { recursive: true, force: true });
  if (PGTEST_PID && PGTEST_DIR) await stopCluster({ pid: Number(PGTEST_PID), dir: PGTEST_DIR });
}
