import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { AppError } from '../errors.ts';
import { type CircuitBreaker, createCircuitBreaker } from './circuit-breaker.ts';
import { type Estate, parseEstate, parseSecret, parseSecretList, type Secret } from './schemas.ts';
import { toUpstreamError, type UpstreamReply } from './upstream-errors.ts';

/** A Vonage answer with the status it came with; a failure is an AppError carrying `upstreamStatus`. */
export interface Upstreamed<T> {
  value: T;
  upstreamStatus: number;
}

/**
 * The four Vonage secret operations. The status reaches the caller (and the audit) as a return value;
 * `observe` is only for logs and metrics, and also hears about calls that failed.
 */
export interface VonageSecrets {
  list(apiKey: string, observe?: UpstreamObserver): Promise<Upstreamed<Secret[]>>;
  get(apiKey: string, secretId: string, observe?: UpstreamObserver): Promise<Upstreamed<Secret>>;
  create(apiKey: string, secret: string, observe?: UpstreamObserver): Promise<Upstreamed<Secret>>;
  revoke(apiKey: string, secretId: string, observe?: UpstreamObserver): Promise<Upstreamed<null>>;
  /** Whether `secret` authenticates as the account itself; the rotation's test step. */
  authenticatesAs(apiKey: string, secret: string, observe?: UpstreamObserver): Promise<Upstreamed<boolean>>;
  /** The primary account and its subaccounts (the Subaccounts API), with the primary's credentials. */
  listSubaccounts(observe?: UpstreamObserver): Promise<Upstreamed<Estate>>;
  breaker: CircuitBreaker;
  close(): Promise<void>;
}

export type UpstreamObserver = (call: { status: number | null; durationMs: number; attempts: number }) => void;

export interface VonageClientOptions {
  baseUrl: string;
  apiKey: string;
  apiSecret: string;
  /** One deadline for the whole call, retries and body included. */
  timeoutMs: number;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Retries for GET on a network error or a 5xx; POST and DELETE are never retried. */
  getRetries?: number;
  breaker?: CircuitBreaker;
}

type Method = 'GET' | 'POST' | 'DELETE';
const MAX_BODY_BYTES = 64 * 1024;
/** A subaccount list is ~250 bytes an account: room for thousands. */
const MAX_ESTATE_BYTES = 4 * 1024 * 1024;
const BACKOFF_BASE_MS = 100;

/** Path segments were validated against allow-lists; encoding them again keeps the URL safe regardless. */
const secretsPath = (apiKey: string, secretId?: string) =>
  `/accounts/${encodeURIComponent(apiKey)}/secrets${secretId === undefined ? '' : `/${encodeURIComponent(secretId)}`}`;

/** The body as text, refused past `maxBytes`. Events, not `for await`: an async iterator costs a promise a chunk. */
function readBounded(body: Readable, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      body.destroy();
      reject(new AppError('upstream-error', 502, 'Vonage sent a response that is too large.'));
    });
    body.once('end', () => resolve(Buffer.concat(chunks, size).toString('utf8')));
    body.once('error', reject);
  });
}

/** undici's own timeouts (connect, headers, body); the call's deadline is known by its `expired` flag. */
const UNDICI_TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const isTimeout = (error: unknown) => UNDICI_TIMEOUTS.has((error as { code?: string } | null)?.code ?? '');

function transportError(error: unknown, expired: boolean): AppError {
  if (error instanceof AppError) return error;
  if (expired || isTimeout(error))
    return new AppError('upstream-timeout', 504, 'Vonage did not answer in time.', { cause: error });
  return new AppError('upstream-error', 502, 'Vonage could not be reached.', { cause: error });
}

/** Full jitter: a random wait up to the exponential step, never past the deadline. */
const backoff = (attempt: number, deadlineAt: number) =>
  new Promise((resolve) =>
    setTimeout(
      resolve,
      Math.min(Math.random() * BACKOFF_BASE_MS * 2 ** attempt, Math.max(0, deadlineAt - Date.now() - 50)),
    ),
  );

export function createVonageClient(options: VonageClientOptions): VonageSecrets {
  const pool = new Pool(options.baseUrl, {
    connections: 32,
    keepAliveTimeout: 10_000,
    connectTimeout: options.connectTimeoutMs ?? Math.min(options.timeoutMs, 3_000),
    headersTimeout: options.headersTimeoutMs ?? options.timeoutMs,
    bodyTimeout: options.bodyTimeoutMs ?? options.timeoutMs,
  });
  const breaker = options.breaker ?? createCircuitBreaker({ failureThreshold: 5, openMs: 10_000 });
  const retries = options.getRetries ?? 2;
  const basic = (key: string, secret: string) => `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
  const master = basic(options.apiKey, options.apiSecret);

  async function attempt(method: Method, path: string, signal: EventEmitter, body?: string, authorization = master) {
    const maxBytes = path.endsWith('/subaccounts') ? MAX_ESTATE_BYTES : MAX_BODY_BYTES;
    const contentType = body === undefined ? {} : { 'content-type': 'application/json' };
    const response = await pool.request({
      method,
      path,
      headers: { authorization, accept: 'application/json', ...contentType },
      body,
      signal,
    });
    return { status: response.statusCode, headers: response.headers, text: await readBounded(response.body, maxBytes) };
  }

  async function call(
    method: Method,
    path: string,
    observe: UpstreamObserver = () => undefined,
    body?: string,
    authorization?: string,
  ): Promise<UpstreamReply> {
    breaker.admit();
    const started = performance.now();
    const deadlineAt = Date.now() + options.timeoutMs;
    // One deadline for the call, cleared when it ends: AbortSignal.timeout would leave each call's timer
    // pending until it fired or its signal was collected (thousands at a time under load). The signal is an
    // EventEmitter, which undici takes as well as an AbortSignal, whose listeners cost more (EventTarget).
    const signal = new EventEmitter();
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      signal.emit('abort');
    }, options.timeoutMs);
    let status: number | null = null;
    let attempts = 0;
    try {
      for (;;) {
        attempts += 1;
        const canRetry = method === 'GET' && attempts <= retries && Date.now() < deadlineAt - BACKOFF_BASE_MS;
        try {
          if (expired) throw new Error('the deadline passed before this attempt');
          const reply: UpstreamReply = await attempt(method, path, signal, body, authorization);
          status = reply.status;
          if (reply.status < 500) breaker.recordSuccess();
          else breaker.recordFailure();
          if (reply.status >= 500 && canRetry) {
            await backoff(attempts, deadlineAt);
            continue;
          }
          return reply;
        } catch (error) {
          status = null;
          breaker.recordFailure();
          if (!canRetry || expired || error instanceof AppError) throw transportError(error, expired);
          await backoff(attempts, deadlineAt);
        }
      }
    } finally {
      clearTimeout(timer);
      observe({ status, durationMs: performance.now() - started, attempts });
    }
  }

  /** A 2xx parsed into its value; anything else (or a body we cannot read) throws with the status. */
  const answer = <T>(reply: UpstreamReply, parse: (reply: UpstreamReply) => T): Upstreamed<T> => {
    if (reply.status < 200 || reply.status > 299) throw toUpstreamError(reply);
    return { value: parse(reply), upstreamStatus: reply.status };
  };

  return {
    list: async (apiKey, observe) => answer(await call('GET', secretsPath(apiKey), observe), parseSecretList),
    get: async (apiKey, secretId, observe) =>
      answer(await call('GET', secretsPath(apiKey, secretId), observe), parseSecret),
    create: async (apiKey, secret, observe) =>
      answer(await call('POST', secretsPath(apiKey), observe, JSON.stringify({ secret })), parseSecret),
    revoke: async (apiKey, secretId, observe) =>
      answer(await call('DELETE', secretsPath(apiKey, secretId), observe), () => null),
    // The account's own key and the new secret, as its consumers will send them: 200 works, 401 does not.
    authenticatesAs: async (apiKey, secret, observe) => {
      const reply = await call('GET', secretsPath(apiKey), observe, undefined, basic(apiKey, secret));
      if (reply.status === 401) return { value: false, upstreamStatus: 401 };
      return answer(reply, () => true);
    },
    listSubaccounts: async (observe) =>
      answer(await call('GET', `/accounts/${encodeURIComponent(options.apiKey)}/subaccounts`, observe), parseEstate),
    breaker,
    close: () => pool.close(),
  };
}
