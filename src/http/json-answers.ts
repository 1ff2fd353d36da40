import type { Express, Response } from 'express';

const JSON_UTF8 = 'application/json; charset=utf-8';
/** Statuses Express answers without a body, and without Content-Type or Content-Length. */
const BODYLESS = new Set([204, 205, 304]);
const JSON_SETTINGS = ['json replacer', 'json spaces', 'json escape', 'etag fn'];

/**
 * `res.json` for the common answer (a body to send, no Content-Type chosen yet, a status with a body), written
 * as Express writes it: the same bytes, Content-Type then Content-Length, no body for HEAD. It skips what
 * res.send does on the way for any kind of body: parsing and formatting the Content-Type to add its charset,
 * two type lookups and the settings reads. Anything else goes to Express's own. Installed only on an app with
 * none of the JSON or ETag settings, which are read once, here: set them before, never after.
 */
export function leanJsonAnswers(app: Express): void {
  if (JSON_SETTINGS.some((setting) => app.get(setting))) return;
  const expressJson = app.response.json;
  app.response.json = function json(this: Response, body?: unknown): Response {
    // The headers first: a problem answer (its type already set) goes to Express without being serialised twice.
    const common =
      !BODYLESS.has(this.statusCode) &&
      this.getHeader('content-type') === undefined &&
      this.getHeader('transfer-encoding') === undefined &&
      !this.req.fresh;
    const text: string | undefined = common ? JSON.stringify(body) : undefined;
    if (text === undefined) return expressJson.call(this, body);
    this.setHeader('Content-Type', JSON_UTF8);
    this.setHeader('Content-Length', Buffer.byteLength(text));
    if (this.req.method === 'HEAD') this.end();
    else this.end(text, 'utf8');
    return this;
  };
}
