import winston from 'winston';

/** A small logging surface, so tests can pass a capturing logger and modules never import winston. */
export interface Logger {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

const SENSITIVE_KEY = /secret|password|authorization|cookie|token|api[-_]?key|credential/i;
const REDACTED = '[redacted]';

/**
 * Defence in depth: call sites log only chosen fields, but a field whose name looks sensitive is
 * masked wherever it appears, so a careless future log line cannot print a credential.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      SENSITIVE_KEY.test(key) && !ALLOWED_KEYS.has(key) ? REDACTED : redact(inner, depth + 1),
    ]),
  );
}

/** Field names that match the pattern but carry no secret: the target account and secret ids. */
const ALLOWED_KEYS = new Set(['api_key', 'secret_id']);

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SENSITIVE_KEY.test(key) && !ALLOWED_KEYS.has(key)) info[key] = REDACTED;
    else info[key] = redact(info[key]);
  }
  return info;
});

export function createLogger(level: string, transport: winston.transport = new winston.transports.Console()): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports: [transport],
  });
}
