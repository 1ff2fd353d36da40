import type * as Http from 'node:http';
import type { Express } from 'express';
import { createServer, IncomingMessage, ServerResponse } from '../node-http.ts';

/** Above Node's 16 KiB default, so an oversized identity header gets a 401 problem, not a bare 431. */
export const MAX_HEADER_BYTES = 128 * 1024;

/**
 * Node's request and response classes whose objects are born with the app's prototypes. Express otherwise
 * re-parents every request and response in `app.handle` (`Object.setPrototypeOf`), which V8 pays for on each
 * object and again in every property access that saw the object's first shape; setting the prototype an
 * object already has is a no-op. Subclasses, not plain functions: V8 sizes a subclass's objects for the fields
 * its base constructors assign (a plain function's objects end up with dictionary properties). Express's own
 * prototypes stay in the chain, one link up, so everything Express and its users add to them still applies.
 */
function bornWithPrototypesOf(app: Express): Pick<Http.ServerOptions, 'IncomingMessage' | 'ServerResponse'> {
  class Request extends IncomingMessage {}
  class Response extends ServerResponse {}
  Object.setPrototypeOf(Request.prototype, app.request);
  Object.setPrototypeOf(Response.prototype, app.response);
  app.request = Request.prototype as Express['request'];
  app.response = Response.prototype as Express['response'];
  return { IncomingMessage: Request, ServerResponse: Response as Http.ServerOptions['ServerResponse'] };
}

/** The HTTP server for an app (the gateway's or a wrapper of it): once per app. */
export function httpServer(app: Express): Http.Server {
  return createServer({ maxHeaderSize: MAX_HEADER_BYTES, ...bornWithPrototypesOf(app) }, app);
}
