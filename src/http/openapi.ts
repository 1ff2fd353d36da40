import type { Request, RequestHandler, Response } from 'express';
import { AppError } from '../errors.ts';
import { context } from './context.ts';
import { checkRequest } from './contract/check-request.ts';
import { type CompiledOperation, compileOperations } from './contract/compile.ts';
import type { Contract } from './contract/operations.ts';

export { type Contract, loadContract } from './contract/operations.ts';

/** `/v1/accounts/{apiKey}/secrets` as Express writes it: `/v1/accounts/:apiKey/secrets`. */
export const expressPath = (template: string) => template.replace(/\{([^}]+)\}/g, ':$1');

export interface ContractChecks {
  /** Route-level: checks the request against the operation of the route that matched. */
  validate: RequestHandler;
  /** After every route: 405 with Allow for a contract path, 404 for the rest. */
  unmatched: RequestHandler;
}

const byRoute = (compiled: CompiledOperation[]) =>
  new Map(compiled.map((c) => [`${c.operation.method} ${expressPath(c.operation.template)}`, c]));

/** Each contract path with its methods, for 405s: the Allow header and the metrics' route label. */
function pathsOf(compiled: CompiledOperation[]): Array<{ pattern: RegExp; route: string; allow: string }> {
  const templates = [...new Set(compiled.map((c) => c.operation.template))];
  return templates.map((template) => ({
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    route: expressPath(template),
    allow: compiled
      .filter((c) => c.operation.template === template)
      .flatMap((c) => (c.operation.method === 'GET' ? ['GET', 'HEAD'] : [c.operation.method]))
      .join(', '),
  }));
}

/** Validates every documented request against openapi-internal.yaml before any handler sees it. */
export function contractChecks(contract: Contract): ContractChecks {
  const compiled = compileOperations(contract);
  const operations = byRoute(compiled);
  const paths = pathsOf(compiled);
  const methodNotAllowed = (req: Request, res: Response) => {
    const known = paths.find(({ pattern }) => pattern.test(req.path));
    if (!known) return new AppError('not-found', 404, 'No route matches this method and path.');
    context(res).unmatchedRoute = known.route;
    const detail = 'This path does not support the method; see the Allow header.';
    return new AppError('method-not-allowed', 405, detail, { allow: known.allow });
  };
  const validate: RequestHandler = (req, res, next) => {
    // HEAD is GET without the body (RFC 9110 §9.3.2): Express runs the GET route, and it is checked as GET.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const operation = operations.get(`${method} ${req.route?.path}`);
    if (!operation) throw methodNotAllowed(req, res);
    const problem = checkRequest(req, operation);
    if (problem) throw problem;
    next();
  };
  const unmatched: RequestHandler = (req, res) => {
    throw methodNotAllowed(req, res);
  };
  return { validate, unmatched };
}
