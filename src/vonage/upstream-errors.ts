import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { AppError, type AppErrorOptions, type InvalidParam } from '../errors.ts';

export interface UpstreamReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Vonage's RFC 7807 body. Strings are capped: they are passed on to our callers. */
const problemSchema = z.object({
  type: z.string().max(300).optional(),
  title: z.string().max(300).optional(),
  detail: z.string().max(1000).optional(),
  invalid_parameters: z
    .array(z.object({ name: z.string().max(100), reason: z.string().max(300) }))
    .max(20)
    .optional(),
});
type VonageProblem = z.infer<typeof problemSchema>;

/**
 * Business-rule refusals, told apart by the `type` fragment: Vonage answers both with 403 or 409 and
 * varying titles, but the fragment is stable.
 */
const BUSINESS_RULES = ['#maximum-secrets-allowed', '#add-excess-secret', '#delete-last-secret'];

function parseProblem(text: string): VonageProblem {
  try {
    const parsed = problemSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

const headerValue = (headers: IncomingHttpHeaders, name: string) => {
  const value = headers[name];
  return typeof value === 'string' && /^\d{1,13}$/.test(value) ? value : undefined;
};

const THROTTLE_HEADERS = ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'] as const;

function throttled(reply: UpstreamReply): AppError {
  const upstreamThrottle: AppErrorOptions['upstreamThrottle'] = {};
  for (const name of THROTTLE_HEADERS) {
    const value = headerValue(reply.headers, name);
    if (value !== undefined) upstreamThrottle[name] = value;
  }
  return new AppError('rate-limited', 429, 'Vonage is throttling requests; retry later.', {
    upstreamThrottle,
    upstreamStatus: 429,
  });
}

function rejected(reply: UpstreamReply, problem: VonageProblem): AppError {
  const upstreamStatus = reply.status;
  if (BUSINESS_RULES.some((fragment) => problem.type?.endsWith(fragment))) {
    return new AppError('conflict', 409, problem.detail ?? 'Vonage refused the change.', {
      type: problem.type,
      upstreamStatus,
    });
  }
  if (reply.status === 404) {
    return new AppError('not-found', 404, problem.detail ?? 'Vonage does not know this account or secret.', {
      upstreamStatus,
    });
  }
  if (reply.status === 400 || reply.status === 422) {
    const invalidParams: InvalidParam[] | undefined = problem.invalid_parameters;
    return new AppError('upstream-rejected', 400, problem.detail ?? 'Vonage rejected the request.', {
      invalidParams,
      upstreamStatus,
    });
  }
  // 401 or any other refusal means the gateway's own credentials or permissions are wrong: the caller can't fix it.
  return new AppError('upstream-error', 502, "Vonage refused the gateway's credentials.", { upstreamStatus });
}

export function toUpstreamError(reply: UpstreamReply): AppError {
  if (reply.status === 429) return throttled(reply);
  if (reply.status >= 500)
    return new AppError('upstream-error', 502, 'Vonage failed to handle the request.', {
      upstreamStatus: reply.status,
    });
  if (reply.status >= 400) return rejected(reply, parseProblem(reply.text));
  return new AppError('upstream-error', 502, `Vonage answered with an unexpected status ${reply.status}.`, {
    upstreamStatus: reply.status,
  });
}
