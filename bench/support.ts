/** What `npm run bench` asks of Postgres and of the processes it starts. */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { parse } from 'yaml';

export async function sql(url: string, text: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

export const leaseCalls = async (url: string) =>
  Number(
    (
      await sql(
        url,
        "select coalesce(sum(calls), 0) as calls from pg_stat_user_functions where funcname = 'rate_limit_lease'",
      )
    )[0]?.calls ?? 0,
  );

/** Backends publish function statistics when they go idle (at most once a second): wait until the count settles. */
export async function settledLeaseCalls(url: string): Promise<number> {
  let previous = -1;
  for (let round = 0; round < 20; round += 1) {
    const calls = await leaseCalls(url);
    if (calls === previous) return calls;
    previous = calls;
    await new Promise((resolve) => setTimeout(resolve, 1_100));
  }
  return previous;
}

export async function untilAnswers(url: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    if (
      await fetch(url).then(
        (r) => r.status < 500,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer`);
}

export async function memoryMb(metricsUrl: string): Promise<{ rss: number; heap: number }> {
  const text = await (await fetch(metricsUrl)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  return { rss: read('gateway_process_resident_memory_bytes'), heap: read('gateway_nodejs_heap_size_used_bytes') };
}

type Container = { name: string; env?: Array<{ name: string; value?: string }> };

/** The runtime settings the Deployment gives the gateway (heap sizes, malloc), so the bench runs it the same way. */
export function deploymentRuntimeEnv(path = 'k8s/base/deployment.yaml'): Record<string, string> {
  const deployment = parse(readFileSync(path, 'utf8')) as { spec: { template: { spec: { containers: Container[] } } } };
  const gateway = deployment.spec.template.spec.containers.find((c) => c.name === 'gateway');
  const runtime = (gateway?.env ?? []).filter(
    (e) => e.value !== undefined && (e.name === 'NODE_OPTIONS' || e.name.startsWith('MALLOC_')),
  );
  if (!runtime.some((e) => e.name === 'NODE_OPTIONS')) throw new Error(`${path}: the gateway has no NODE_OPTIONS`);
  return Object.fromEntries(runtime.map((e) => [e.name, e.value as string]));
}

/** Where a process's resident memory lies (Linux): the executable's own pages, malloc's heap, the rest. */
export function residentBreakdownMb(pid: number): { executable: number; mallocHeap: number; anonymous: number } {
  const totals = { executable: 0, mallocHeap: 0, anonymous: 0 };
  let region: keyof typeof totals | undefined;
  const executable = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) {
      const name = mapping[1] ?? '';
      region =
        name === '' ? 'anonymous' : name === '[heap]' ? 'mallocHeap' : name === executable ? 'executable' : undefined;
    } else if (region && line.startsWith('Rss:')) totals[region] += Number(line.split(/\s+/)[1]) / 1024;
  }
  return totals;
}

/** CPU time a process has used (user + system), in µs, from /proc/<pid>/stat (clock ticks of 10 ms). */
export function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]); // utime and stime: fields 14 and 15 of stat
  return ticks * 10_000;
}

/** A bench's targets: each said as it is measured, then all of them in one table at the end of the run. */
export function targetTable() {
  const rows: Array<{ measure: string; target: string; measured: string; met: boolean | null }> = [];
  const outcome = (met: boolean | null) => (met === null ? 'recorded' : met ? 'MET' : 'MISSED');
  return {
    verdict(measure: string, target: string, measured: string, met: boolean | null): void {
      rows.push({ measure, target, measured, met });
      console.log(`${measure}: ${measured} (target ${target}: ${outcome(met)})`);
    },
    print(title: string): void {
      console.log(`\n${title}, this run:`);
      for (const t of rows)
        console.log(`  ${t.measure.padEnd(40)} ${t.target.padEnd(16)} ${t.measured.padEnd(46)} ${outcome(t.met)}`);
    },
  };
}
