import { fileURLToPath } from 'node:url';
import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';

/** The contract. `npm run build` copies it next to dist/src, so this relative path holds for both trees. */
export const OPENAPI_SPEC_PATH = fileURLToPath(new URL('../../openapi-internal.yaml', import.meta.url));

/** Validates every documented request against openapi-internal.yaml before any handler sees it. */
export function validateAgainstContract(): RequestHandler[] {
  return OpenApiValidator.middleware({
    apiSpec: OPENAPI_SPEC_PATH,
    validateRequests: { allowUnknownQueryParameters: false },
    validateResponses: false,
    validateSecurity: false,
    ignoreUndocumented: false,
  }) as unknown as RequestHandler[];
}
