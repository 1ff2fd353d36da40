import { strictRouter } from './strict-router.ts';
import { existsSync } from 'node:fs';
import express, { type Router } from 'express';

/**
 * The browser console: static files only, no identity and no data. Every piece of data comes from
 * /v1 with the caller's own identity, so the console can never show more than the API allows. Its CSP
 * allows nothing inline and nothing from elsewhere.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function consoleRouter(consoleDir: string | undefined): Router {
  const router = strictRouter();
  router.get('/', (_req, res) => res.redirect(302, '/console/'));
  if (!consoleDir || !existsSync(consoleDir)) return router;
  // Set before express.static, which ends the response: revalidate every file, so a deploy is seen at once.
  router.use('/console', (_req, res, next) => {
    res.set('Content-Security-Policy', CONSOLE_CSP);
    res.set('Cache-Control', 'no-cache');
    next();
  });
  router.use('/console', express.static(consoleDir, { index: 'index.html', redirect: true, cacheControl: false }));
  return router;
}
