import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A SIEM stand-in on loopback: records every POST, can fail the first N, and can hold one unanswered. */
export interface Delivery {
  path: string;
  headers: Record<string, string>;
  body: string;
  status: number;
}

export interface AuditSink {
  url: string;
  deliveries: Delivery[];
  failNext(count: number): void;
  /** Leaves the next POST unanswered (its sender can be killed mid-batch); resolves when it arrives. */
  holdNext(): Promise<void>;
  close(): Promise<void>;
}

export async function startAuditSink(): Promise<AuditSink> {
  const deliveries: Delivery[] = [];
  let failures = 0;
  let hold: (() => void) | undefined;
  const held: ServerResponse[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const status = hold ? 0 : failures > 0 ? 503 : 200;
    if (failures > 0 && !hold) failures -= 1;
    deliveries.push({
      path: req.url ?? '',
      headers: req.headers as Record<string, string>,
      body: Buffer.concat(chunks).toString(),
      status,
    });
    if (hold) {
      held.push(res);
      const arrived = hold;
      hold = undefined;
      return arrived();
    }
    res.writeHead(status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hec`,
    deliveries,
    failNext: (count) => {
      failures = count;
    },
    holdNext: () => new Promise<void>((resolve) => (hold = resolve)),
    close: () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
