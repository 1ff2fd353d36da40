import type { Server } from 'node:http';

/** Listens, and rejects if the port cannot be had (EADDRINUSE) instead of emitting an unhandled error. */
export function listen(server: Server, port: number, host?: string): Promise<Server> {
  return new Promise((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve(server)));
}

export const closeServer = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

/** The URL a listening server answers on, for banners and tests. */
export function urlOf(server: Server): string {
  const address = server.address();
  return typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : String(address);
}
