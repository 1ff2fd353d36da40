import proxyaddr from 'proxy-addr';
import { z } from 'zod';

/** The shapes of single settings, each checked on its own; src/config.ts puts them together. */

export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;

export const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .prefault(String(fallback));

export const required = (what: string) =>
  z
    .string({ error: `is required (${what})` })
    .trim()
    .min(1, `is required (${what})`);

export const isLoopbackHost = (host: string) => ['localhost', '127.0.0.1', '[::1]'].includes(host);

export const vonageBaseUrl = z
  .string()
  .prefault('https://api.nexmo.com')
  .refine((value) => URL.canParse(value), 'must be an absolute URL')
  .transform((value) => new URL(value))
  // Basic-auth credentials must never travel in clear text; plain http is for the loopback fakes only.
  .refine(
    (url) => url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname)),
    'must use https (http only on loopback)',
  )
  .refine(
    (url) => url.pathname === '/' && !url.search && !url.username && !url.password,
    'must be an origin, with no path, query or credentials',
  )
  .transform((url) => url.origin);

/** `a, b,,c` → ['a', 'b', 'c']; each entry is then checked on its own, and named in the report. */
const commaList = (fallback: string, check: (entry: string) => string | null) =>
  z
    .string()
    .prefault(fallback)
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .superRefine((entries, ctx) => {
      for (const entry of entries) {
        const problem = check(entry);
        if (problem) ctx.addIssue({ code: 'custom', message: `"${entry}" ${problem}` });
      }
    });

const compiles = (cidr: string) => {
  try {
    proxyaddr.compile(cidr);
    return null;
  } catch {
    return 'is not an IP address, CIDR range or proxy-addr name';
  }
};

export const trustedProxyCidrs = commaList('loopback', compiles).refine(
  (cidrs) => cidrs.length > 0,
  'must name at least one address range',
);

export const origins = commaList('', (origin) =>
  URL.canParse(origin) && new URL(origin).origin === origin
    ? null
    : 'is not an exact origin such as https://app.example.com',
);

export const auditStreamUrl = z
  .string()
  .refine((value) => URL.canParse(value), 'must be an absolute URL')
  .transform((value) => new URL(value))
  // Audit records carry identities: they never travel in clear text except to a sink on this host.
  .refine(
    (url) => url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname)),
    'must use https (http only on loopback)',
  )
  // A password in the URL would be sent on every POST and logged with every failed one.
  .refine(
    (url) => url.username === '' && url.password === '',
    'must not carry credentials (user:password@); the stream authenticates with AUDIT_STREAM_SECRET or AUDIT_STREAM_TOKEN',
  )
  .transform((url) => url.toString())
  .optional();

/** Where ESO's controller reaches POST /v1/deliveries (in the cluster), for the console's manifest snippet. */
export const deliveryUrl = z
  .string()
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'must be an http(s) URL')
  .refine((value) => new URL(value).pathname === '/v1/deliveries', 'must end in /v1/deliveries')
  .optional();
