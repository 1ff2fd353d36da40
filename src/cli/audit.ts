import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { verifyChain } from '../audit/chain.ts';
import { EXPORT_FORMATS } from '../audit/export-formats.ts';
import { exportAuditEvents } from '../audit/query.ts';
import { readFileSync } from 'node:fs';
import { parseAnchorFile } from '../audit/anchor-files.ts';
import { verifyAgainstAnchors } from '../audit/anchors.ts';
import { parseAuditFilter } from '../audit/filter.ts';
import { printRotations } from './rotations-report.ts';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES } from '../audit/audit.table.ts';
import { createDatabase } from '../database.ts';
import { createLogger } from '../logger.ts';

export const HELP = `Usage: npm run audit -- <command> [options]

Security reviewers' tool for the gateway's audit log. It connects to DATABASE_URL read-only
(use the auditor role from db/roles.sql).

Commands:
  verify              Walk the hash chain, recomputing every hash from the raw columns, and check that the
                      chain's SQL functions are the shipped ones. Prints a JSON report.
                      --anchors FILE: also check the chain against what the SIEM or the logs hold, one JSON
                      document a line: checkpoints, streamed records, HEC events or a Splunk JSON export.
                      Exit codes: 0 intact; 1 broken, diverged_from_anchor or truncated; 2 a usage or
                      connection error; 3 the file held no anchor at all.
  query               Print matching events, newest first, streamed.
  rotations           List rotations (newest first) with every audited step, its actor and the secret it
                      touched (for a create, the one made); takes --since and --format text|json|csv.

Query options:
  --since <when>      7d, 24h, 30m, or an ISO 8601 time (inclusive)
  --until <when>      the same forms (exclusive)
  --actor <email>     the caller's email
  --api-key <key>     the Vonage api key
  --action <action>   ${AUDIT_ACTIONS.join(' | ')}
  --outcome <outcome> ${AUDIT_OUTCOMES.join(' | ')}
  --limit <n>         at most n events (default: all)
  --format <format>   ndjson (default) | csv | json

Examples:
  npm run audit -- verify
  npm run audit -- query --since 7d --actor alice@example.com --format csv > alice.csv
`;

const oneOf = <T extends string>(allowed: readonly T[], value: string | undefined, name: string): T | undefined => {
  if (value !== undefined && !allowed.includes(value as T))
    throw new Error(`--${name} must be one of ${allowed.join(', ')}`);
  return value as T | undefined;
};

/** The API's own filter parser, so a filter means the same in the console, the API and here. */
function queryFilter(values: Record<string, string | boolean | undefined>) {
  const text = (name: string) => values[name] as string | undefined; // every query option is a string option
  const names = {
    since: 'since',
    until: 'until',
    actor: 'actor',
    'api-key': 'api_key',
    action: 'action',
    outcome: 'outcome',
    limit: 'limit',
  };
  const input = Object.fromEntries(
    Object.entries(names).flatMap(([option, name]) => (text(option) === undefined ? [] : [[name, text(option)]])),
  );
  const { filter, problems } = parseAuditFilter(input);
  const optionOf = (name: string) => Object.entries(names).find(([, field]) => field === name)?.[0] ?? name;
  if (problems.length > 0) throw new Error(problems.map((p) => `--${optionOf(p.name)} ${p.reason}`).join('; '));
  return filter;
}

const stringOption = { type: 'string' } as const;
const OPTIONS = {
  since: stringOption,
  until: stringOption,
  actor: stringOption,
  'api-key': stringOption,
  action: stringOption,
  outcome: stringOption,
  limit: stringOption,
  format: stringOption,
  anchors: stringOption,
  help: { type: 'boolean', short: 'h' },
} as const;

/** verify's exit codes, as docs/audit.md lists them; 2 is a usage or connection error. */
const EXIT_CODES = { intact: 0, broken: 1, diverged_from_anchor: 1, truncated: 1, no_anchors: 3 } as const;
const NO_ANCHORS =
  'The file holds no checkpoint and no streamed record, so nothing outside the database was compared. ' +
  'Export the stream (NDJSON, HEC events or a Splunk JSON export) or the checkpoint log lines.';

/** Runs one command, writing to `out`; returns the exit code. */
export async function runAuditCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  out: (text: string) => Promise<void> | void,
): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
  const command = positionals[0];
  if (values.help || !command) {
    await out(HELP);
    return values.help ? 0 : 2;
  }
  if (!['verify', 'query', 'rotations'].includes(command)) throw new Error(`unknown command "${command}"; see --help`);
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is required');
  const format =
    command === 'rotations'
      ? 'ndjson'
      : (oneOf(['ndjson', 'csv', 'json'] as const, values.format, 'format') ?? 'ndjson');
  const filter = command === 'query' ? queryFilter(values) : undefined;
  const db = createDatabase({
    connectionString: env.DATABASE_URL,
    logger: createLogger('error'),
    readOnly: true,
    statementTimeoutMs: 0,
    max: 1,
  });
  try {
    if (command === 'rotations') {
      const rotationsFormat = oneOf(['text', 'json', 'csv'] as const, values.format, 'format') ?? 'text';
      await printRotations(db, queryFilter(values).since, out, rotationsFormat);
      return 0;
    }
    if (!filter) {
      const report = await verifyChain(db);
      if (values.anchors === undefined) {
        await out(`${JSON.stringify(report, null, 2)}\n`);
        return report.status === 'intact' ? 0 : 1;
      }
      // The chain may be internally consistent and still not the one the outside copies saw.
      const file = parseAnchorFile(readFileSync(values.anchors, 'utf8'));
      const anchors = await verifyAgainstAnchors(db, file.anchors);
      const status =
        report.status !== 'intact' ? 'broken' : anchors.status === 'consistent' ? 'intact' : anchors.status;
      const message = anchors.status === 'no_anchors' ? NO_ANCHORS : undefined;
      const unreadable = file.unreadable_lines;
      await out(
        `${JSON.stringify({ status, message, chain: report, anchors, unreadable_lines: unreadable }, null, 2)}\n`,
      );
      return EXIT_CODES[status];
    }
    if (format !== 'json') {
      const { header, line } = EXPORT_FORMATS[format];
      await out(header);
      await exportAuditEvents(db, filter, (event) => out(line(event)));
      return 0;
    }
    let separator = '';
    await out('[');
    await exportAuditEvents(db, filter, async (event) => {
      await out(`${separator}\n${JSON.stringify(event)}`);
      separator = ',';
    });
    await out('\n]\n');
    return 0;
  } finally {
    await db.destroy();
  }
}

/** Honours back-pressure on stdout, so a slow pipe never makes the tool buffer the whole export. */
const writeStdout = (text: string) =>
  new Promise<void>((resolve, reject) =>
    process.stdout.write(text) ? resolve() : process.stdout.once('drain', resolve).once('error', reject),
  );

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runAuditCli(process.argv.slice(2), process.env, writeStdout).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(`audit: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 2;
    },
  );
}
