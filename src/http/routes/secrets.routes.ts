import type { AuditAction } from '../../audit/audit.table.ts';
import { strictRouter } from './strict-router.ts';
import type { Request, RequestHandler, Response, Router } from 'express';
import type { AuditDeps } from '../../audit/trail.ts';
import { createSecret } from '../../secrets/create-secret.ts';
import type { SecretsDeps } from '../../secrets/deps.ts';
import { getSecret, listSecrets } from '../../secrets/read-secrets.ts';
import { revokeSecret } from '../../secrets/revoke-secret.ts';
import { auditedRoute, declaredAttempt } from '../attempt.middleware.ts';
import { upstreamObserver, verifiedIdentity } from '../context.ts';

type AccountParams = { apiKey: string };
type SecretParams = { apiKey: string; secretId: string };

const secretUrl = (apiKey: string, id: string) => `/v1/accounts/${apiKey}/secrets/${encodeURIComponent(id)}`;

/**
 * The four secret operations. A route reads its params, calls its use case, and sets the status and
 * headers once. `contract` parses the body and checks the request against openapi-internal.yaml;
 * audited routes declare their attempt before it, so a refused body is audited too.
 */
export function secretsRouter(deps: SecretsDeps & { audit: AuditDeps }, contract: RequestHandler[]): Router {
  const router = strictRouter();
  const audited = (action: AuditAction) => auditedRoute(action, contract, deps.audit);

  router.get('/v1/accounts/:apiKey/secrets', contract, async (req: Request<AccountParams>, res: Response) => {
    const { apiKey } = req.params;
    const secrets = await listSecrets(deps, { caller: verifiedIdentity(res), apiKey, observe: upstreamObserver(res) });
    res.json({ api_key: apiKey, secrets });
  });

  router.get('/v1/accounts/:apiKey/secrets/:secretId', contract, async (req: Request<SecretParams>, res: Response) => {
    const { apiKey, secretId } = req.params;
    res.json(
      await getSecret(deps, { caller: verifiedIdentity(res), apiKey, secretId, observe: upstreamObserver(res) }),
    );
  });

  router.post(
    '/v1/accounts/:apiKey/secrets',
    audited('secret.create'),
    async (req: Request<AccountParams>, res: Response) => {
      const attempt = declaredAttempt(res);
      const input = {
        attempt,
        secret: req.body.secret as string,
        idempotencyKey: req.get('idempotency-key'),
        observe: upstreamObserver(res),
      };
      const { secret, replayed } = await createSecret(deps, input);
      if (replayed) res.set('Idempotent-Replayed', 'true');
      res.status(201).location(secretUrl(attempt.apiKey, secret.id)).json(secret);
    },
  );

  router.delete(
    '/v1/accounts/:apiKey/secrets/:secretId',
    audited('secret.revoke'),
    async (req: Request<SecretParams>, res: Response) => {
      await revokeSecret(deps, {
        attempt: declaredAttempt(res),
        secretId: req.params.secretId,
        observe: upstreamObserver(res),
      });
      res.status(204).end();
    },
  );

  return router;
}
