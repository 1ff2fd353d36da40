import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response, Router } from 'express';
import type { Kysely } from 'kysely';
import type { Database } from '../../database.ts';
import { AppError } from '../../errors.ts';
import { type DeliveryDeps, deliver } from '../../secrets/deliver.ts';
import { auditedRoute, declaredAttempt } from '../attempt.middleware.ts';
import { deliveryToken, tokenConsumer } from '../delivery-token.middleware.ts';
import { type Metrics, setConsumerGauges } from '../metrics.ts';
import { strictRouter } from './strict-router.ts';

export interface DeliveriesRouteDeps extends DeliveryDeps {
  db: Kysely<Database>;
  tokens?: { hmacKey: string };
  metrics: Metrics;
  /** The per-caller budgets, keyed here by `consumer:<name>`. */
  rateLimit: RequestHandler;
}

/** ESO's template renders a key the Secret lacks as `<no value>`; that and an empty value mean "none yet". */
const heldFrom = (value: string | undefined) => (!value || value === '<no value>' ? null : value);

const outcomeOf = (error: unknown) => (error instanceof AppError && error.status < 500 ? 'refused' : 'failed');

/**
 * External Secrets Operator's Webhook generator calls here on each refresh of a consumer's ExternalSecret.
 * The answer is a flat object; ESO writes each key into the consumer's Kubernetes Secret.
 */
export function deliveriesRouter(deps: DeliveriesRouteDeps, contract: RequestHandler[]): Router {
  const router = strictRouter();
  const { metrics } = deps;
  const consumerOf = (res: Response) => tokenConsumer(res).apiKey;

  router.post(
    '/v1/deliveries',
    deliveryToken(deps.db, deps.tokens, metrics),
    deps.rateLimit,
    auditedRoute('delivery.generate', contract, deps.audit, consumerOf),
    async (req: Request, res: Response) => {
      const consumer = tokenConsumer(res);
      const heldSecretId = heldFrom(req.get('x-held-secret-id'));
      const input = { attempt: declaredAttempt(res), consumer, heldSecretId, rotationId: randomUUID() };
      const delivery = await deliver(deps, input).catch((error: unknown) => {
        metrics.deliveries.inc({ consumer: consumer.name, outcome: outcomeOf(error) });
        throw error;
      });
      metrics.deliveries.inc({ consumer: consumer.name, outcome: 'delivered' });
      setConsumerGauges(metrics, consumer, new Date());
      res.json({
        api_key: delivery.apiKey,
        api_secret: delivery.secret,
        secret_id: delivery.secretId,
        created_at: delivery.createdAt,
      });
    },
  );
  return router;
}
