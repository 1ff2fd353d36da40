import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { UpstreamReply } from './upstream-errors.ts';

/** What we pass on of a Vonage secret. `_links` point at Vonage, not at us, so they are dropped. */
export interface Secret {
  id: string;
  created_at: string;
}

const secretSchema = z.object({ id: z.string().min(1).max(128), created_at: z.string().min(1).max(64) });
const secretListSchema = z.object({ _embedded: z.object({ secrets: z.array(secretSchema).max(100) }) });

function parseJson(reply: UpstreamReply): unknown {
  try {
    return JSON.parse(reply.text);
  } catch {
    return undefined;
  }
}

function parseWith<T>(schema: z.ZodType<T>, reply: UpstreamReply): T {
  const parsed = schema.safeParse(parseJson(reply));
  if (!parsed.success) {
    throw new AppError('upstream-error', 502, 'Vonage sent a response the gateway does not understand.', {
      upstreamStatus: reply.status,
    });
  }
  return parsed.data;
}

export const parseSecret = (reply: UpstreamReply): Secret => {
  const { id, created_at } = parseWith(secretSchema, reply);
  return { id, created_at };
};

export const parseSecretList = (reply: UpstreamReply): Secret[] =>
  parseWith(secretListSchema, reply)._embedded.secrets.map(({ id, created_at }) => ({ id, created_at }));
