import { z } from 'zod';
import { AppError } from '../errors.ts';
import { API_KEY_PATTERN } from './identifiers.ts';
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

/** An account as the Subaccounts API describes it (subaccounts.json, SubaccountResponse), as far as we use it. */
export interface VonageAccount {
  api_key: string;
  name: string | null;
  created_at: string | null;
  suspended: boolean;
}

export interface Estate {
  primary: VonageAccount | null;
  subaccounts: VonageAccount[];
}

/** Every field is optional in the spec; an api key we could never address (not our pattern) is left out. */
const accountSchema = z.object({
  api_key: z.string().max(64),
  name: z.string().max(200).nullish(),
  created_at: z.string().max(64).nullish(),
  suspended: z.boolean().nullish(),
});
const estateSchema = z.object({
  _embedded: z.object({
    primary_account: accountSchema.nullish(),
    subaccounts: z.array(accountSchema).max(10_000).nullish(),
  }),
});

const toAccount = (account: z.infer<typeof accountSchema>): VonageAccount => ({
  api_key: account.api_key,
  name: account.name ?? null,
  created_at: account.created_at ?? null,
  suspended: account.suspended ?? false,
});

export function parseEstate(reply: UpstreamReply): Estate {
  const { _embedded: embedded } = parseWith(estateSchema, reply);
  const addressable = (account: z.infer<typeof accountSchema>) => API_KEY_PATTERN.test(account.api_key);
  const primary = embedded.primary_account;
  return {
    primary: primary && addressable(primary) ? toAccount(primary) : null,
    subaccounts: (embedded.subaccounts ?? []).filter(addressable).map(toAccount),
  };
}
