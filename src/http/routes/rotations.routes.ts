import type { AuditAction } from '../../audit/audit.table.ts';
import { strictRouter } from './strict-router.ts';
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response, Router } from 'express';
import type { Rotation } from '../../rotation/store.ts';
import { cancelRotation, completeRotation } from '../../secrets/finish-rotation.ts';
import { getRotation, getRotations } from '../../secrets/read-rotations.ts';
import type { RotationDeps } from '../../secrets/rotation-deps.ts';
import { startRotation } from '../../secrets/start-rotation.ts';
import { auditedRoute, declaredAttempt } from '../attempt.middleware.ts';
import { verifiedIdentity } from '../context.ts';

type AccountParams = { apiKey: string };
type RotationParams = { apiKey: string; rotationId: string };

export const rotationView = (r: Rotation) => ({
  id: r.id,
  api_key: r.apiKey,
  state: r.state,
  retire_secret_id: r.retireSecretId,
  new_secret: r.newSecret ? { id: r.newSecret.id, created_at: r.newSecret.createdAt } : null,
  started_at: r.startedAt.toISOString(),
  started_by: r.startedBy,
  updated_at: r.updatedAt.toISOString(),
  failure: r.failure,
});

/** Guided rotation: start → (consumers switch) → complete, or cancel. Every step is audited. */
export function rotationsRouter(deps: RotationDeps, contract: RequestHandler[]): Router {
  const router = strictRouter();
  const audited = (action: AuditAction) => auditedRoute(action, contract, deps.audit);
  const base = '/v1/accounts/:apiKey/rotations';

  router.post(base, audited('rotation.start'), async (req: Request<AccountParams>, res: Response) => {
    const attempt = declaredAttempt(res);
    const { retire_secret_id, discard_secret_id, secret } = req.body as Record<string, string | undefined>;
    const { rotation, secret: generated } = await startRotation(deps, {
      attempt,
      rotationId: randomUUID(),
      retireSecretId: retire_secret_id as string,
      discardSecretId: discard_secret_id,
      secret,
      idempotencyKey: req.get('idempotency-key'),
    });
    res.status(201).location(`/v1/accounts/${attempt.apiKey}/rotations/${rotation.id}`);
    res.json({ ...rotationView(rotation), ...(generated === undefined ? {} : { secret: generated }) });
  });

  for (const [step, finish] of [
    ['complete', completeRotation],
    ['cancel', cancelRotation],
  ] as const) {
    router.post(
      `${base}/:rotationId/${step}`,
      audited(`rotation.${step}`),
      async (req: Request<RotationParams>, res: Response) => {
        res.json(
          rotationView(await finish(deps, { attempt: declaredAttempt(res), rotationId: req.params.rotationId })),
        );
      },
    );
  }

  router.get(base, contract, async (req: Request<AccountParams>, res: Response) => {
    const rotations = await getRotations(deps, verifiedIdentity(res), req.params.apiKey);
    res.json({ rotations: rotations.map(rotationView) });
  });

  router.get(`${base}/:rotationId`, contract, async (req: Request<RotationParams>, res: Response) => {
    res.json(rotationView(await getRotation(deps, verifiedIdentity(res), req.params.apiKey, req.params.rotationId)));
  });
  return router;
}
