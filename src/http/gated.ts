import type { RequestHandler, Router } from 'express';

/** The part of a route path before its first parameter or wildcard: every path it matches starts with it. */
const staticPrefix = (path: string) => path.split(/[:*({]/, 1)[0] ?? '';

interface MountedLayer {
  rawPath?: unknown;
  slash?: boolean;
  route?: unknown;
}

type Gate = (path: string) => boolean;

/**
 * Which paths a layer could match: a route without parameters only its own path (routing is strict and
 * case-sensitive), anything else only paths under its static prefix. Undefined: it could match any path.
 */
function gateOf(layer: MountedLayer, strict: boolean): Gate | undefined {
  if (layer.slash || typeof layer.rawPath !== 'string') return undefined;
  const path = layer.rawPath;
  const prefix = staticPrefix(path);
  if (strict && layer.route && prefix === path) return (asked) => asked === path;
  return (asked) => asked.startsWith(prefix);
}

/**
 * Enters a router only for a path one of its layers could match. Express tries every router in turn and,
 * inside each, every route's pattern, so a request for /v1/accounts/… would otherwise run the patterns of
 * the health, contract, console, delivery and /me routers first; skipping one costs a string test. The
 * layers are read once, when the router is mounted (ours are complete by then). A router that is not
 * case-sensitive, or has a layer mounted at / or a pattern that is not a string, is always entered.
 */
export function gated(router: Router): RequestHandler {
  const { caseSensitive, strict } = router as Router & { caseSensitive?: boolean; strict?: boolean };
  const gates = (router.stack as MountedLayer[]).map((layer) => gateOf(layer, strict === true));
  if (!caseSensitive || !gates.every((gate): gate is Gate => gate !== undefined)) return router;
  return (req, res, next) => {
    const path = req.path;
    if (gates.some((gate) => gate(path))) router(req, res, next);
    else next();
  };
}
