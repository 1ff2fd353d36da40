import winston from 'winston';

/** A small logging surface, so tests can pass a capturing logger and modules never import winston. */
export interface Logger {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

const SENSITIVE_KEY = /secret|password|authorization|cookie|token|api[-_]?key|credential/i;
/** Field names that match the pattern but carry no secret: the target account and secret ids. */
const ALLOWED_KEYS = new Set(['api_key', 'secret_id']);
const REDACTED = '[redacted]';
/** winston's own keys for a line's level and its finished text (triple-beam's LEVEL and MESSAGE). */
const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');

/** Log lines use a few dozen field names: each name's verdict is worked out once. */
const verdicts = new Map<string, boolean>();
function isSensitive(key: string): boolean {
  let verdict = verdicts.get(key);
  if (verdict === undefined) {
    verdict = SENSITIVE_KEY.test(key) && !ALLOWED_KEYS.has(key);
    if (verdicts.size < 10_000) verdicts.set(key, verdict);
  }
  return verdict;
}

/**
 * Defence in depth: call sites log only chosen fields, but a field whose name looks sensitive is
 * masked wherever it appears, so a careless future log line cannot print a credential. Plain values
 * pass as they are; only nested objects are copied.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    copy[key] = isSensitive(key) ? REDACTED : redact((value as Record<string, unknown>)[key], depth + 1);
  }
  return copy;
}

/** Redacts, stamps and serialises in one pass: the request log line costs one object and one string. */
const jsonLine = winston.format((info) => {
  const line: Record<string, unknown> = {};
  for (const key of Object.keys(info)) line[key] = isSensitive(key) ? REDACTED : redact(info[key]);
  line.timestamp = new Date().toISOString();
  (info as Record<symbol, unknown>)[MESSAGE] = safeStringify(line);
  return info;
});

/** JSON.stringify, except that a cycle or a BigInt in a careless call site must not throw from the logger. */
function safeStringify(line: Record<string, unknown>): string {
  try {
    return JSON.stringify(line);
  } catch {
    return JSON.stringify({
      level: line.level,
      message: line.message,
      timestamp: line.timestamp,
      unserialisable: true,
    });
  }
}

/** How a prepared line reaches winston's transport without the format pipeline (see `preparedLine`). */
const DIRECT = Symbol('direct');
interface Direct {
  enabled(level: string): boolean;
  write(level: string, line: string): void;
}

export function createLogger(level: string, transport: winston.transport = new winston.transports.Console()): Logger {
  const logger = winston.createLogger({ level, format: jsonLine(), transports: [transport] });
  const direct: Direct = {
    enabled: (at) => logger.isLevelEnabled(at),
    write: (at, line) => transport.log?.({ level: at, message: '', [LEVEL]: at, [MESSAGE]: line }, () => undefined),
  };
  return Object.assign(logger, { [DIRECT]: direct });
}

type Plain = string | number | boolean | null | undefined;

/**
 * A line logged on every request, built from a template instead of winston's format pipeline: its field
 * names are fixed and checked here, once, so it needs no redaction pass, and each value is JSON-encoded.
 * The line reads as any other (same fields, same JSON); a logger without the direct path gets `info`.
 */
export function preparedLine<K extends string>(logger: Logger, message: string, keys: readonly K[]) {
  const sensitive = keys.filter(isSensitive);
  if (sensitive.length > 0) throw new Error(`a prepared log line cannot carry ${sensitive.join(', ')}`);
  const direct = (logger as { [DIRECT]?: Direct })[DIRECT];
  if (!direct) return (fields: Record<K, Plain>) => logger.info(message, fields);
  const head = `{"level":"info","message":${JSON.stringify(message)}`;
  const names = keys.map((key) => `,${JSON.stringify(key)}:`);
  return (fields: Record<K, Plain>) => {
    if (!direct.enabled('info')) return;
    let line = head;
    for (let i = 0; i < keys.length; i += 1) {
      const value = fields[keys[i] as K];
      if (value !== undefined) line += names[i] + JSON.stringify(value);
    }
    direct.write('info', `${line},"timestamp":"${new Date().toISOString()}"}`);
  };
}
