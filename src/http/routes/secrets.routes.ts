import { Router } from 'express';
import { assertAllowed, assertManagedAccount } from '../../policy/authorize.ts';
import type { Policy } from '../../policy/policy.ts';
import type { VonageSecrets } from '../../vonage/client.ts';
import { forwardAudited } from '../audit-attempt.ts';
import { upstreamObserver, verifiedIdentity } from '../context.ts';
import { type IdempotencyDeps, respondIdempotently } from '../idempotency.ts';

export interface SecretsDeps extends IdempotencyDeps {
  policy: Policy;
  vonage: VonageSecrets;
}

/**
 * The four secret operations. Each reads top to bottom: identity → policy → (idempotency claim) →
 * (audit intent) → Vonage → (audit outcome) → response. Path parameters were already checked against the contract's allow-lists.
 */
export function secretsRouter(deps: SecretsDeps): Router {
  const { policy, vonage } = deps;
  const router = Router({ caseSensitive: true, strict: true });

  router.get('/v1/accounts/:apiKey/secrets', async (req, res) => {
    const { apiKey } = req.params;
    assertManagedAccount(policy, apiKey);
    assertAllowed(policy, verifiedIdentity(res), 'secrets:read', apiKey);
    const secrets = await vonage.list(apiKey, upstreamObserver(res));
    res.json({ api_key: apiKey, secrets });
  });

  router.get('/v1/accounts/:apiKey/secrets/:secretId', async (req, res) => {
    const { apiKey, secretId } = req.params;
    assertManagedAccount(policy, apiKey);
    assertAllowed(policy, verifiedIdentity(res), 'secrets:read', apiKey);
    res.json(await vonage.get(apiKey, secretId, upstreamObserver(res)));
  });

  router.post('/v1/accounts/:apiKey/secrets', async (req, res) => {
    const { apiKey } = req.params;
    assertManagedAccount(policy, apiKey);
    assertAllowed(policy, verifiedIdentity(res), 'secrets:create', apiKey);
    const secretValue: string = req.body.secret;
    await respondIdempotently(deps, req, res, ['create', apiKey, secretValue], async () => {
      const created = await forwardAudited(deps, req, res, { status: 201, createdSecretId: (secret) => secret.id }, () =>
        vonage.create(apiKey, secretValue, upstreamObserver(res)),
      );
      return { status: 201, body: created, location: `/v1/accounts/${apiKey}/secrets/${encodeURIComponent(created.id)}` };
    });
  });

  router.delete('/v1/accounts/:apiKey/secrets/:secretId', async (req, res) => {
    const { apiKey, secretId } = req.params;
    assertManagedAccount(policy, apiKey);
    assertAllowed(policy, verifiedIdentity(res), 'secrets:revoke', apiKey);
    await forwardAudited(deps, req, res, { status: 204 }, () => vonage.revoke(apiKey, secretId, upstreamObserver(res)));
    res.status(204).end();
  });

  return router;
}
