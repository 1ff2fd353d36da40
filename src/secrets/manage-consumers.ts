import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { auditTrail } from '../audit/trail.ts';
import {
  type Consumer,
  consumersOf,
  findConsumer,
  insertConsumer,
  replaceToken,
  revokeToken,
} from '../delivery/store.ts';
import { deliveryOff, mintToken, tokenHmac } from '../delivery/tokens.ts';
import { AppError } from '../errors.ts';
import type { Database } from '../database.ts';
import type { Identity } from '../identity/identity.ts';
import { authorize } from '../policy/authorize.ts';
import type { AuditedInput, SecretsDeps } from './deps.ts';

/**
 * Registering a consumer (a workload that receives one account's credentials), and its delivery token:
 * issued, shown once, re-issued, revoked. Each needs consumers:manage on the account and is audited in the
 * same transaction as the change (a token whose issue cannot be audited is never issued). The token's value is returned
 * once and never stored; only its HMAC is.
 */
export interface ConsumerDeps extends SecretsDeps {
  /** DELIVERY_TOKEN_HMAC_KEY and DELIVERY_TOKEN_DAYS; undefined: delivery is off on this gateway. */
  tokens?: { hmacKey: string; ttlDays: number };
}

export interface ConsumerInput extends AuditedInput {
  name: string;
}

export interface IssuedToken {
  consumer: Consumer;
  /** Shown once, in this answer only. */
  token: string;
}

const DAY_MS = 86_400_000;

function tokenSettings(deps: ConsumerDeps): { hmacKey: string; ttlDays: number } {
  if (deps.tokens) return deps.tokens;
  throw deliveryOff();
}

/** The story every consumer change shares: policy, then the change and its audit record in one transaction. */
function audited<T>(
  deps: ConsumerDeps,
  input: AuditedInput,
  status: number,
  change: (db: Kysely<Database>) => Promise<T>,
): Promise<T> {
  const trail = auditTrail(deps.audit, input.attempt);
  return trail.refusalsRecorded(async () => {
    authorize(deps.policy, input.attempt.actor, 'consumers:manage', input.attempt.apiKey);
    tokenSettings(deps);
    return trail.together(status, change);
  });
}

async function existing(db: Kysely<Database>, input: ConsumerInput): Promise<Consumer> {
  const consumer = await findConsumer(db, input.attempt.apiKey, input.name);
  if (consumer) return consumer;
  throw new AppError('not-found', 404, `There is no consumer "${input.name}" on ${input.attempt.apiKey}.`);
}

const fresh = (deps: ConsumerDeps) => {
  const { hmacKey, ttlDays } = tokenSettings(deps);
  const token = mintToken();
  return { token, hmac: tokenHmac(hmacKey, token), expiresAt: new Date(Date.now() + ttlDays * DAY_MS) };
};

export function registerConsumer(
  deps: ConsumerDeps,
  input: ConsumerInput & { intervalSeconds: number },
): Promise<IssuedToken> {
  return audited(deps, input, 201, async (db) => {
    const { token, hmac, expiresAt } = fresh(deps);
    const consumer = await insertConsumer(
      db,
      {
        id: randomUUID(),
        apiKey: input.attempt.apiKey,
        name: input.name,
        tokenExpiresAt: expiresAt,
        intervalSeconds: input.intervalSeconds,
        createdBy: input.attempt.actor.email,
      },
      hmac,
    );
    return { consumer, token };
  });
}

/** A new token; the old one stops working at once. Turns delivery back on after a revoke. */
export function reissueToken(deps: ConsumerDeps, input: ConsumerInput): Promise<IssuedToken> {
  return audited(deps, input, 201, async (db) => {
    const consumer = await existing(db, input);
    const { token, hmac, expiresAt } = fresh(deps);
    return { consumer: await replaceToken(db, consumer, hmac, expiresAt), token };
  });
}

/** Delivery off: the token stops working at once. Safe to repeat. */
export function revokeConsumerToken(deps: ConsumerDeps, input: ConsumerInput): Promise<Consumer> {
  return audited(deps, input, 200, async (db) => revokeToken(db, await existing(db, input)));
}

export async function listConsumers(deps: SecretsDeps, identity: Identity, apiKey: string): Promise<Consumer[]> {
  authorize(deps.policy, identity, 'secrets:read', apiKey);
  return consumersOf(deps.db, apiKey);
}

export async function getConsumer(deps: SecretsDeps, identity: Identity, apiKey: string, name: string) {
  authorize(deps.policy, identity, 'secrets:read', apiKey);
  const consumer = await findConsumer(deps.db, apiKey, name);
  if (consumer) return consumer;
  throw new AppError('not-found', 404, `There is no consumer "${name}" on ${apiKey}.`);
}
