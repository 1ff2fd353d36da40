import { execFileSync, spawn } from 'node:child_process';
import { eventually } from './eventually.ts';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway Postgres server for the test run: the machine's own binaries, a temporary data
 * directory, loopback only. Root may not run postgres, so as root it runs as the `postgres` user.
 */

export interface Cluster {
  url: string;
  pid: number;
  dir: string;
  bin: string;
  port: number;
  fsync: boolean;
}

export function postgresBin(): string {
  if (process.env.PGBIN) return process.env.PGBIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const bin = versions.map((v) => join(root, v, 'bin')).find((dir) => existsSync(join(dir, 'postgres')));
  if (!bin)
    throw new Error(`no PostgreSQL server under ${root}: install the postgresql package (.ci/run does) or set PGBIN`);
  return bin;
}

const asRoot = process.getuid?.() === 0;
const idOf = (flag: '-u' | '-g') => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
const command = (cmd: string, args: string[]): [string, string[]] =>
  asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitUntilReady(dataDir: string, child: { exitCode: number | null }): Promise<number> {
  const pidFile = join(dataDir, 'postmaster.pid');
  const pidLines = () => (existsSync(pidFile) ? readFileSync(pidFile, 'utf8').split('\n') : []);
  const ready = () => {
    if (child.exitCode !== null)
      throw new Error(`postgres exited with ${child.exitCode}; see ${dataDir}/../server.log`);
    return pidLines()[7]?.trim() === 'ready';
  };
  await eventually(ready, { what: 'postgres ready', timeoutMs: 15_000, everyMs: 50 });
  return Number(pidLines()[0]);
}

async function startServer(bin: string, dir: string, port: number, fsync: boolean): Promise<number> {
  const data = join(dir, 'data');
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-k',
    dir,
    '-c',
    `fsync=${fsync ? 'on' : 'off'}`,
  ];
  // Not detached: Ctrl-C on the test run's process group stops postgres too.
  const child = spawn(...command(join(bin, 'postgres'), args), { stdio: 'ignore' });
  child.unref();
  return waitUntilReady(data, child);
}

export async function startCluster(options: { fsync?: boolean } = {}): Promise<Cluster> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'pgtest-'));
  if (asRoot) chownSync(dir, idOf('-u'), idOf('-g'));
  const data = join(dir, 'data');
  execFileSync(
    ...command(join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--no-instructions',
      '--no-sync',
    ]),
    { stdio: 'ignore' },
  );
  const port = await freePort();
  const fsync = options.fsync ?? false;
  const pid = await startServer(bin, dir, port, fsync);
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, pid, dir, bin, port, fsync };
}

/** Stops the server (fast shutdown: open transactions are rolled back), keeping its data for a restart. */
export async function stopServer(cluster: Cluster): Promise<void> {
  try {
    process.kill(cluster.pid, 'SIGINT');
  } catch {
    return;
  }
  await waitForExit(cluster.pid);
}

/** Starts the same data directory again on the same port. */
export async function restartServer(cluster: Cluster): Promise<void> {
  cluster.pid = await startServer(cluster.bin, cluster.dir, cluster.port, cluster.fsync);
}

const isGone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

/** Waits for the process to go; one that outlives the wait is left to the caller's next step. */
async function waitForExit(pid: number): Promise<void> {
  const what = `postgres ${pid} exiting`;
  await eventually(() => isGone(pid), { what, timeoutMs: 15_000, everyMs: 50 }).catch(() => undefined);
}

export async function stopCluster(cluster: { pid: number; dir: string }): Promise<void> {
  try {
    process.kill(cluster.pid, 'SIGINT'); // fast shutdown
  } catch {
    // already gone
  }
  await waitForExit(cluster.pid);
  rmSync(cluster.dir, { recursive: true, force: true });
}
