import { strictRouter } from './strict-router.ts';
import type { Request, RequestHandler, Response, Router } from 'express';
import { capabilities } from '../../policy/capabilities.ts';
import type { Policy } from '../../policy/policy.ts';
import { verifiedIdentity } from '../context.ts';

/** Who am I, what may I do: for any verified caller, from the same decisions that authorise requests. */
export function meRouter(
  policy: Policy,
  settings: {
    secretMaxAgeDays: number;
    rotationStaleAfterHours: number;
    delivery: { enabled: boolean; url: string | null };
  },
  contract: RequestHandler[],
): Router {
  const router = strictRouter();
  router.get('/v1/me', contract, (_req: Request, res: Response) => {
    const identity = verifiedIdentity(res);
    res.json({
      email: identity.email,
      user: identity.user,
      groups: identity.groups,
      ...capabilities(policy, identity),
      discovery: policy.accounts.source,
      settings: {
        secret_max_age_days: settings.secretMaxAgeDays,
        rotation_stale_after_hours: settings.rotationStaleAfterHours,
        delivery_enabled: settings.delivery.enabled,
        delivery_url: settings.delivery.url,
      },
    });
  });
  return router;
}
