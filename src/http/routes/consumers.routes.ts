import type { Request, RequestHandler, Response, Router } from 'express';
import type { AuditAction } from '../../audit/audit.table.ts';
import { type Consumer, deliveryState, isOverdue } from '../../delivery/store.ts';
import {
  type ConsumerDeps,
  getConsumer,
  listConsumers,
  registerConsumer,
  reissueToken,
  revokeConsumerToken,
} from '../../secrets/manage-consumers.ts';
import { auditedRoute, declaredAttempt } from '../attempt.middleware.ts';
import { verifiedIdentity } from '../context.ts';
import { strictRouter } from './strict-router.ts';

type AccountParams = { apiKey: string };
type ConsumerParams = { apiKey: string; name: string };

/** A consumer as the API shows it: never its token (shown once, at issue) nor the token's HMAC. */
export const consumerView = (c: Consumer) => ({
  name: c.name,
  api_key: c.apiKey,
  interval_seconds: c.intervalSeconds,
  created_by: c.createdBy,
  created_at: c.createdAt.toISOString(),
  delivery: deliveryState(c),
  token_expires_at: c.tokenExpiresAt.toISOString(),
  token_revoked_at: c.tokenRevokedAt?.toISOString() ?? null,
  last_delivery: c.lastDelivery ? { secret_id: c.lastDelivery.secretId, at: c.lastDelivery.at.toISOString() } : null,
  held: c.held ? { secret_id: c.held.secretId, reported_at: c.held.at.toISOString() } : null,
  overdue: isOverdue(c),
});

/** 30 days: the shipped ExternalSecret's refreshInterval (720h). */
const DEFAULT_INTERVAL_SECONDS = 2_592_000;

/** Consumers of an account's credentials and their delivery tokens (consumers:manage; every change audited). */
export function consumersRouter(deps: ConsumerDeps, contract: RequestHandler[]): Router {
  const router = strictRouter();
  const audited = (action: AuditAction) => auditedRoute(action, contract, deps.audit);
  const base = '/v1/accounts/:apiKey/consumers';

  router.get(base, contract, async (req: Request<AccountParams>, res: Response) => {
    const consumers = await listConsumers(deps, verifiedIdentity(res), req.params.apiKey);
    res.json({ consumers: consumers.map(consumerView) });
  });

  router.get(`${base}/:name`, contract, async (req: Request<ConsumerParams>, res: Response) => {
    const { apiKey, name } = req.params;
    res.json(consumerView(await getConsumer(deps, verifiedIdentity(res), apiKey, name)));
  });

  router.post(base, audited('consumer.register'), async (req: Request<AccountParams>, res: Response) => {
    const attempt = declaredAttempt(res);
    const { name, interval_seconds } = req.body as { name: string; interval_seconds?: number };
    const intervalSeconds = interval_seconds ?? DEFAULT_INTERVAL_SECONDS;
    const { consumer, token } = await registerConsumer(deps, { attempt, name, intervalSeconds });
    res.status(201).location(`/v1/accounts/${attempt.apiKey}/consumers/${consumer.name}`);
    res.json({ ...consumerView(consumer), token });
  });

  router.post(
    `${base}/:name/token`,
    audited('consumer.reissue'),
    async (req: Request<ConsumerParams>, res: Response) => {
      const { consumer, token } = await reissueToken(deps, { attempt: declaredAttempt(res), name: req.params.name });
      res.status(201).json({ ...consumerView(consumer), token });
    },
  );

  router.delete(
    `${base}/:name/token`,
    audited('consumer.revoke'),
    async (req: Request<ConsumerParams>, res: Response) => {
      res.json(consumerView(await revokeConsumerToken(deps, { attempt: declaredAttempt(res), name: req.params.name })));
    },
  );
  return router;
}
