import type { RequestHandler, Router } from 'express';

/** The part of a route path before its first parameter or wildcard: every path it matches starts with it. */
const staticPrefix = (path: string) => path.split(/[:*({]/, 1)[0] ?? '';

interface MountedLayer {
  rawPath?: unknown;
  slash?: boolean;
}

/**
 * Enters a router only for a path one of its layers could match. Express tries every router in turn and,
 * inside each, every route's pattern, so a request for /v1/accounts/… would otherwise run the patterns of
 * the health, contract, delivery and /me routers first; skipping one costs a prefix test. The prefixes are
 * read once, when the router is mounted (ours are complete by then). A router with a layer mounted at / or
 * a pattern that is not a string is always entered.
 */
export function gated(router: Router): RequestHandler {
  const layers = router.stack as MountedLayer[];
  const paths = layers.map((layer) => (layer.slash ? undefined : layer.rawPath));
  if (!paths.every((path): path is string => typeof path === 'string')) return router;
  const prefixes = [...new Set(paths.map(staticPrefix))];
  return (req, res, next) => {
    const path = req.path;
    if (prefixes.some((prefix) => path.startsWith(prefix))) router(req, res, next);
    else next();
  };
}
