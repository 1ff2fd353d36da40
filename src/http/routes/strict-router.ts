import { Router } from 'express';

/**
 * Every router of the app: case-sensitive and strict, so only a path that is exactly a contract path
 * reaches a handler (`/V1/Accounts/…` and trailing slashes fall through to 404).
 */
export const strictRouter = (): Router => Router({ caseSensitive: true, strict: true });
