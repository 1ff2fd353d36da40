import { Pool } from 'undici';
import { AppError } from '../errors.ts';
import { toUpstreamError, type UpstreamReply } from './upstream-errors.ts';
import { parseSecret, parseSecretList, type Secret } from './schemas.ts';

/** The four Vonage secret operations. Every call reports Vonage's status and duration for logs and audit. */
export interface VonageSecrets {
  list(apiKey: string, observe: UpstreamObserver): Promise<Secret[]>;
  get(apiKey: string, secretId: string, observe: UpstreamObserver): Promise<Secret>;
  create(apiKey: string, secret: string, observe: UpstreamObserver): Promise<Secret>;
  revoke(apiKey: string, secretId: string, observe: UpstreamObserver): Promise<void>;
  close(): Promise<void>;
}

export type UpstreamObserver = (call: { status: number | null; durationMs: number }) => void;

export interface VonageClientOptions {
  baseUrl: string;
  apiKey: string;
  apiSecret: string;
  timeoutMs: number;
  requestId?: () => string | undefined;
}

const MAX_BODY_BYTES = 64 * 1024;

/** Path segments were validated against allow-lists; encoding them again keeps the URL safe regardless. */
const secretsPath = (apiKey: string, secretId?: string) =>
  `/accounts/${encodeURIComponent(apiKey)}/secrets${secretId === undefined ? '' : `/${encodeURIComponent(secretId)}`}`;

async function readBounded(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new AppError('upstream-error', 502, 'Vonage sent a response that is too large.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const isTimeout = (error: unknown) => {
  const { name, code } = error as { name?: string; code?: string };
  return name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
};

function transportError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isTimeout(error)) return new AppError('upstream-timeout', 504, 'Vonage did not answer in time.', { cause: error });
  return new AppError('upstream-error', 502, 'Vonage could not be reached.', { cause: error });
}

export function createVonageClient(options: VonageClientOptions): VonageSecrets {
  const pool = new Pool(options.baseUrl, {
    connections: 32,
    keepAliveTimeout: 10_000,
    connectTimeout: Math.min(options.timeoutMs, 5_000),
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  const authorization = `Basic ${Buffer.from(`${options.apiKey}:${options.apiSecret}`).toString('base64')}`;

  async function call(method: 'GET' | 'POST' | 'DELETE', path: string, observe: UpstreamObserver, body?: string): Promise<UpstreamReply> {
    const started = performance.now();
    let status: number | null = null;
    try {
      const response = await pool.request({
        method,
        path,
        headers: { authorization, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body,
        signal: AbortSignal.timeout(options.timeoutMs), // one deadline for the whole call, body included
      });
      status = response.statusCode;
      const text = await readBounded(response.body);
      return { status, headers: response.headers, text };
    } catch (error) {
      throw transportError(error);
    } finally {
      observe({ status, durationMs: performance.now() - started });
    }
  }

  const expectOk = (reply: UpstreamReply) => {
    if (reply.status < 200 || reply.status > 299) throw toUpstreamError(reply);
    return reply;
  };

  return {
    list: async (apiKey, observe) => parseSecretList(expectOk(await call('GET', secretsPath(apiKey), observe))),
    get: async (apiKey, secretId, observe) => parseSecret(expectOk(await call('GET', secretsPath(apiKey, secretId), observe))),
    create: async (apiKey, secret, observe) =>
      parseSecret(expectOk(await call('POST', secretsPath(apiKey), observe, JSON.stringify({ secret })))),
    revoke: async (apiKey, secretId, observe) => {
      expectOk(await call('DELETE', secretsPath(apiKey, secretId), observe));
    },
    close: () => pool.close(),
  };
}
