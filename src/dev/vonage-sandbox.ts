import { randomBytes, randomUUID } from 'node:crypto';
import {
  digest,
  initialAccounts,
  now,
  type Stored,
  type SubAccount,
  type SubAccountSpec,
  saveAccounts,
  subAccountOf,
} from './sandbox-state.ts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { vonageProblem, type VonageProblemName } from './vonage-problems.ts';

/**
 * A stateful stand-in for Vonage's secret-management API (the Account API's /accounts/{key}/secrets): at most two
 * secrets per api key, the last secret can't be revoked, Basic auth by the master key, and Vonage's
 * own error bodies. It also lists the primary's subaccounts as the Subaccounts API does
 * (GET /accounts/{primary}/subaccounts, shapes from subaccounts.json), or refuses as an account not
 * provisioned for that API does. `npm run dev` uses it as a sandbox; the tests use it as the fake upstream, with
 * fault modes and a record of every request it received. It refuses to run in production.
 */

export type Fault =
  | { kind: 'slow'; delayMs: number }
  | { kind: 'reset' }
  | { kind: 'server-error'; status: 500 | 502 | 503 }
  | { kind: 'throttle'; retryAfterSeconds: number }
  | { kind: 'malformed' }
  /** A well-formed 200 list padded to `bytes`, sent in 1 kB chunks: only a bound on the body refuses it. */
  | { kind: 'oversized'; bytes: number };

export interface ReceivedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

export interface SandboxOptions {
  masterKey: string;
  masterSecret: string;
  /** Sub-accounts the master may manage, besides its own: api keys, or with a name, suspension and ages. */
  subAccounts?: SubAccountSpec[];
  /** Vonage allows 2; benchmarks raise it so a create/revoke mix is not all refusals. */
  maxSecrets?: number;
  /** Keeps the accounts' secrets (ids and dates only) in this JSON file, so they survive a restart. */
  stateFile?: string;
}

export interface VonageSandbox {
  url: string;
  received: ReceivedRequest[];
  secretsOf(apiKey: string): Array<{ id: string; created_at: string }>;
  /** Applies `fault` to the next `times` requests (all of them, by default), then behaves again. */
  setFault(fault: Fault | null, times?: number): void;
  /** Makes a secret look older than it is (tests of secret age). */
  backdate(apiKey: string, secretId: string, createdAt: string): void;
  /** Off: an account's own key and secret no longer authenticate (a rotation's test step fails). */
  setAccountAuth(enabled: boolean): void;
  /** Requests received whose response is neither finished nor abandoned: hung sockets, if not zero. */
  pendingRequests(): number;
  /** The Subaccounts API: answering (null), or refusing with 401, 403 or 404 as when not provisioned. */
  setSubaccountsRefusal(status: 401 | 403 | 404 | null): void;
  /** Adds or changes a subaccount (its name, suspension); a new one gets one secret. */
  putSubAccount(account: SubAccount): void;
  removeSubAccount(apiKey: string): void;
  close(): Promise<void>;
}

const MAX_SECRETS = 2;
const SECRET_RULES = /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).{8,25}$/;
const PATH = /^\/accounts\/([^/]+)\/secrets(?:\/([^/]+))?\/?$/;
const SUBACCOUNTS_PATH = /^\/accounts\/([^/]+)\/subaccounts\/?$/;
const CREATED = '2020-01-01T00:00:00.000Z';

/** SubaccountResponse: balances are shared with the primary (null), as for most estates. */
const toSubaccount = (primaryKey: string, account: SubAccount | undefined, apiKey: string) => ({
  api_key: apiKey,
  primary_account_api_key: primaryKey,
  use_primary_account_balance: true,
  name: account?.name ?? apiKey,
  balance: null,
  credit_limit: null,
  suspended: account?.suspended ?? false,
  created_at: account?.createdAt ?? CREATED,
});

const link = (href: string) => ({ self: { href } });
const toInfo = (apiKey: string, s: Stored) => ({
  _links: link(`/accounts/${apiKey}/secrets/${s.id}`),
  id: s.id,
  created_at: s.created_at,
});

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, body === undefined ? headers : { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

const problem = (res: ServerResponse, name: VonageProblemName, subject = '') => {
  const { status, body } = vonageProblem(name, subject);
  send(res, status, body);
};

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseSecret(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { secret?: unknown };
    return typeof parsed.secret === 'string' ? parsed.secret : undefined;
  } catch {
    return undefined;
  }
}

export function startVonageSandbox(options: SandboxOptions, port = 0): Promise<VonageSandbox> {
  if (process.env.NODE_ENV === 'production')
    throw new Error('the Vonage sandbox refuses to run with NODE_ENV=production');
  const accounts = initialAccounts(options);
  const subAccounts = new Map(
    (options.subAccounts ?? []).map((spec) => [subAccountOf(spec).apiKey, subAccountOf(spec)]),
  );
  let subaccountsRefusal: 401 | 403 | 404 | null = null;
  const persist = () => options.stateFile && saveAccounts(options.stateFile, accounts);
  const expectedAuth = `Basic ${Buffer.from(`${options.masterKey}:${options.masterSecret}`).toString('base64')}`;
  let accountAuth = true;
  /** As Vonage: the master's credentials, or an account's own key with one of its live secrets, for its own paths. */
  const authorised = (header: string | undefined, pathKey: string | undefined) => {
    if (header === expectedAuth) return true;
    if (!accountAuth || !header?.startsWith('Basic ') || pathKey === undefined) return false;
    const [key, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
    const hash = digest(rest.join(':'));
    return key === decodeURIComponent(pathKey) && (accounts.get(key)?.some((s) => s.hash === hash) ?? false);
  };
  const received: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let fault: Fault | null = null;
  let faultsLeft = Number.POSITIVE_INFINITY;
  let pending = 0;

  function handleSecrets(
    method: string,
    apiKey: string,
    secretId: string | undefined,
    body: string,
    res: ServerResponse,
  ) {
    const secrets = accounts.get(apiKey);
    if (!secrets) return problem(res, 'invalid-api-key', apiKey);
    if (secretId === undefined && method === 'GET') {
      return send(res, 200, {
        _links: link(`/accounts/${apiKey}/secrets`),
        _embedded: { secrets: secrets.map((s) => toInfo(apiKey, s)) },
      });
    }
    if (secretId === undefined && method === 'POST') {
      const secret = parseSecret(body);
      if (secret === undefined || !SECRET_RULES.test(secret)) return problem(res, 'validation');
      if (secrets.length >= (options.maxSecrets ?? MAX_SECRETS)) return problem(res, 'add-excess-secret');
      const created = { id: randomUUID(), created_at: now(), hash: digest(secret) };
      secrets.push(created);
      persist();
      return send(res, 201, toInfo(apiKey, created));
    }
    const index = secrets.findIndex((s) => s.id === secretId);
    if (secretId === undefined || !['GET', 'DELETE'].includes(method)) return send(res, 405);
    if (index < 0) return problem(res, 'invalid-id', secretId);
    if (method === 'GET') return send(res, 200, toInfo(apiKey, secrets[index] as Stored));
    if (secrets.length === 1) return problem(res, 'delete-last-secret');
    secrets.splice(index, 1);
    persist();
    return send(res, 204);
  }

  /** GET /accounts/{primary}/subaccounts: only the primary's own key, with the primary's credentials. */
  function handleSubaccounts(method: string, apiKey: string, res: ServerResponse) {
    if (method !== 'GET') return send(res, 405);
    if (subaccountsRefusal === 403) return problem(res, 'unprovisioned', options.masterKey);
    if (subaccountsRefusal === 401) return problem(res, 'unauthorized');
    if (subaccountsRefusal === 404 || apiKey !== options.masterKey) return problem(res, 'invalid-api-key', apiKey);
    const subs = [...accounts.keys()].filter((key) => key !== options.masterKey);
    return send(res, 200, {
      _embedded: {
        primary_account: { ...toSubaccount(options.masterKey, undefined, options.masterKey), name: 'Primary account' },
        subaccounts: subs.map((key) => toSubaccount(options.masterKey, subAccounts.get(key), key)),
      },
    });
  }

  function applyFault(active: Fault, req: IncomingMessage, res: ServerResponse, proceed: () => void) {
    switch (active.kind) {
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          proceed();
        }, active.delayMs);
        timers.add(timer);
        return;
      }
      case 'reset':
        return void req.socket.destroy();
      case 'server-error':
        return send(res, active.status, vonageProblem('internal-error').body);
      case 'throttle':
        return send(res, 429, vonageProblem('throttled').body, {
          'retry-after': String(active.retryAfterSeconds),
          'x-ratelimit-limit': '30',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(Date.now() + active.retryAfterSeconds * 1000),
        });
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{"_embedded": {"secrets": [{"id": 42');
      case 'oversized': {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"_embedded":{"secrets":[]},"padding":"');
        for (let sent = 0; sent < active.bytes; sent += 1024) res.write('x'.repeat(1024));
        return void res.end('"}');
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    pending += 1;
    res.once('close', () => (pending -= 1));
    const body = await readBody(req);
    const path = req.url ?? '/';
    received.push({
      method: req.method ?? '',
      path,
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      body,
    });
    const proceed = () => {
      if (res.destroyed) return;
      const subaccounts = SUBACCOUNTS_PATH.exec(path);
      if (subaccounts) {
        if (req.headers.authorization !== expectedAuth) return problem(res, 'unauthorized');
        return handleSubaccounts(req.method ?? '', decodeURIComponent(subaccounts[1] ?? ''), res);
      }
      const match = PATH.exec(path);
      if (!authorised(req.headers.authorization, match?.[1])) return problem(res, 'unauthorized');
      if (!match)
        return send(res, 404, { type: 'https://developer.nexmo.com/api-errors#not-found', title: 'Not Found' });
      handleSecrets(
        req.method ?? '',
        decodeURIComponent(match[1] ?? ''),
        match[2] && decodeURIComponent(match[2]),
        body,
        res,
      );
    };
    if (fault && faultsLeft > 0) {
      faultsLeft -= 1;
      applyFault(fault, req, res, proceed);
    } else proceed();
  }

  const server: Server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`;
      resolve({
        url,
        received,
        secretsOf: (apiKey) => (accounts.get(apiKey) ?? []).map(({ id, created_at }) => ({ id, created_at })),
        setFault: (next, times = Number.POSITIVE_INFINITY) => {
          fault = next;
          faultsLeft = times;
        },
        pendingRequests: () => pending,
        backdate: (apiKey, secretId, createdAt) => {
          const secret = accounts.get(apiKey)?.find((s) => s.id === secretId);
          if (secret) secret.created_at = createdAt;
        },
        setAccountAuth: (enabled) => {
          accountAuth = enabled;
        },
        setSubaccountsRefusal: (status) => {
          subaccountsRefusal = status;
        },
        putSubAccount: (account) => {
          subAccounts.set(account.apiKey, { ...subAccounts.get(account.apiKey), ...account });
          if (!accounts.has(account.apiKey)) accounts.set(account.apiKey, [{ id: randomUUID(), created_at: now() }]);
        },
        removeSubAccount: (apiKey) => {
          subAccounts.delete(apiKey);
          accounts.delete(apiKey);
        },
        close: () =>
          new Promise<void>((done) => {
            for (const timer of timers) clearTimeout(timer);
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** A secret that passes Vonage's rules, for examples and tests. */
export const exampleSecret = () => `Sb${randomBytes(6).toString('hex')}7x`;
