import type { Request } from 'express';
import { AppError, type InvalidParam } from '../../errors.ts';
import { SECRET_RULE_TEXT } from '../../vonage/secret-rules.ts';
import type { CompiledOperation, ErrorObject } from './compile.ts';

/** RFC 3986 reserved characters: without allowReserved, a query value must carry them percent-encoded. */
const RESERVED = /[:/?#[\]@!$&'()*+,;=]/;

type Location = 'path' | 'query' | 'header' | 'body';

const REASONS: Partial<Record<string, (location: Location) => string>> = {
  required: () => 'is required',
  additionalProperties: (location) =>
    location === 'query' ? 'is not a parameter of this operation' : 'is not a documented field',
};

/** An ajv error as a named field and a reason in words; values are never echoed. */
function toInvalidParam(error: ErrorObject, location: Location): InvalidParam {
  const segments = error.instancePath.split('/').slice(1);
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  if (error.keyword === 'required' && params.missingProperty) segments.push(params.missingProperty);
  if (error.keyword === 'additionalProperties' && params.additionalProperty) segments.push(params.additionalProperty);
  const name = segments.map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~')).join('.') || location;
  // The secret's rules are one regex in the contract; say them in words instead of echoing the regex.
  if (name === 'secret' && error.keyword === 'pattern') return { name, reason: `must be ${SECRET_RULE_TEXT}` };
  return { name, reason: REASONS[error.keyword]?.(location) ?? error.message ?? 'is invalid' };
}

const problemsOf = (errors: ErrorObject[] | null | undefined, location: Location) =>
  (errors ?? []).map((error) => toInvalidParam(error, location));

/** The raw (still encoded) query: repeated and unencoded values are judged before decoding hides them. */
function rawQueryProblems(req: Request, compiled: CompiledOperation): InvalidParam[] {
  const at = req.originalUrl.indexOf('?');
  if (at < 0) return [];
  const problems: InvalidParam[] = [];
  const seen = new Set<string>();
  for (const pair of req.originalUrl.slice(at + 1).split('&')) {
    const split = pair.indexOf('=');
    const name = split < 0 ? pair : pair.slice(0, split);
    const value = split < 0 ? '' : pair.slice(split + 1);
    if (compiled.scalarQuery.has(name) && seen.has(name)) problems.push({ name, reason: 'must be given only once' });
    if (compiled.encodedOnly.has(name) && RESERVED.test(value))
      problems.push({ name, reason: 'must be URL-encoded (reserved characters such as : / @ , are not allowed)' });
    seen.add(name);
  }
  return problems;
}

function bodyProblems(req: Request, body: NonNullable<CompiledOperation['body']>): AppError | InvalidParam[] {
  // An empty POST with no Content-Type is a missing body, not a body of the wrong type.
  const empty = req.headers['content-type'] === undefined && req.headers['content-length'] === '0';
  const mediaType = empty ? null : req.is(body.mediaTypes);
  if (mediaType === false) {
    return new AppError('unsupported-media-type', 415, `The request body must be ${body.mediaTypes.join(' or ')}.`);
  }
  if (mediaType === null || req.body === undefined) {
    return body.required ? [{ name: 'body', reason: 'is required' }] : [];
  }
  const validate = body.validators.get(mediaType);
  return validate === undefined || validate(req.body) ? [] : problemsOf(validate.errors, 'body');
}

/** Everything the contract says of a request, checked against the compiled operation; undefined when it holds. */
export function checkRequest(req: Request, compiled: CompiledOperation): AppError | undefined {
  const body = compiled.body ? bodyProblems(req, compiled.body) : [];
  if (body instanceof AppError) return body;
  const query = { ...(req.query as Record<string, unknown>) };
  const problems = [
    ...(compiled.path(req.params) ? [] : problemsOf(compiled.path.errors, 'path')),
    ...rawQueryProblems(req, compiled),
    ...(compiled.query(query) ? [] : problemsOf(compiled.query.errors, 'query')),
    ...(compiled.headers(req.headers) ? [] : problemsOf(compiled.headers.errors, 'header')),
    ...body,
  ];
  if (problems.length === 0) return undefined;
  return new AppError('invalid-request', 400, 'The request does not match the API contract.', {
    invalidParams: problems,
  });
}
