import type * as Http from 'node:http';

/**
 * node:http as Node's own CommonJS module. An ESM `import { createServer } from 'node:http'` reads every
 * export to build the module's namespace, and the WebSocket, CloseEvent and MessageEvent getters among
 * them load Node's bundled undici with its WebAssembly parser, a second copy beside the undici the Vonage
 * client uses: 13 MB of RSS in a bare process, for classes the gateway never uses. Type-only imports of
 * node:http are erased and cost nothing.
 */
export const { createServer, IncomingMessage, ServerResponse } = process.getBuiltinModule('node:http') as typeof Http;
