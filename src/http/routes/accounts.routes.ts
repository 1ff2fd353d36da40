import { strictRouter } from './strict-router.ts';
import type { Request, RequestHandler, Response, Router } from 'express';
import { type AccountsPageDeps, type AccountsQuery, listAccounts } from '../../estate/accounts-page.ts';
import { verifiedIdentity } from '../context.ts';

const DEFAULT_LIMIT = 50;

/** The contract checked names and shapes on a coerced copy; here the strings become values. */
function queryFrom(req: Request, res: Response): AccountsQuery {
  const { q, overdue, suspended, sort, limit, cursor } = req.query as Record<string, string | undefined>;
  const flag = (value: string | undefined) => (value === undefined ? undefined : value === 'true');
  return {
    caller: verifiedIdentity(res),
    q: q || undefined,
    overdue: flag(overdue),
    suspended: flag(suspended),
    sort: sort === 'oldest_secret' ? 'oldest_secret' : 'name',
    limit: limit === undefined ? DEFAULT_LIMIT : Number(limit),
    cursor,
  };
}

/** The estate, one page per call, from the snapshot: a screen of accounts costs one read and no Vonage call. */
export function accountsRouter(deps: AccountsPageDeps, contract: RequestHandler[]): Router {
  const router = strictRouter();
  router.get('/v1/accounts', contract, async (req: Request, res: Response) => {
    res.json(await listAccounts(deps, queryFrom(req, res)));
  });
  return router;
}
