import { strictRouter } from './strict-router.ts';
import type { Request, RequestHandler, Response, Router } from 'express';
import { assertAllowed } from '../../policy/authorize.ts';
import { type SecretAgeDeps, secretAgeReport, toCsv } from '../../secrets/secret-age.ts';
import { verifiedIdentity } from '../context.ts';

/** For reviewers (audit:read): every managed account's secret ages and stale rotations, as JSON or CSV. */
export function reportsRouter(deps: SecretAgeDeps, contract: RequestHandler[]): Router {
  const router = strictRouter();
  router.get('/v1/reports/secret-age', contract, async (req: Request, res: Response) => {
    assertAllowed(deps.policy, verifiedIdentity(res), 'audit:read');
    const accounts = await secretAgeReport(deps);
    if (req.query.format === 'csv') {
      return res.type('text/csv').attachment('secret-age.csv').send(toCsv(accounts));
    }
    res.json({
      generated_at: new Date().toISOString(),
      max_age_days: deps.maxAgeDays,
      stale_after_hours: deps.staleAfterHours,
      accounts,
    });
  });
  return router;
}
