import { strictRouter } from './strict-router.ts';
import type { Request, RequestHandler, Response, Router } from 'express';
import { assertAllowed } from '../../policy/authorize.ts';
import { type SecretAgeDeps, secretAgeReport, toCsv } from '../../estate/secret-age.ts';
import { verifiedIdentity } from '../context.ts';

/** For reviewers (audit:read): every managed account's secret ages and stale rotations, as JSON or CSV. */
export function reportsRouter(deps: SecretAgeDeps & { asOf: () => Date | null }, contract: RequestHandler[]): Router {
  const router = strictRouter();
  router.get('/v1/reports/secret-age', contract, async (req: Request, res: Response) => {
    assertAllowed(deps.policy, verifiedIdentity(res), 'audit:read');
    const accounts = await secretAgeReport(deps);
    if (req.query.format === 'csv') {
      return res.type('text/csv').attachment('secret-age.csv').send(toCsv(accounts));
    }
    res.json({
      generated_at: new Date().toISOString(),
      as_of: deps.asOf()?.toISOString() ?? null,
      max_age_days: deps.maxAgeDays,
      stale_after_hours: deps.staleAfterHours,
      accounts,
    });
  });
  return router;
}
