import type { Kysely } from 'kysely';
import type { AuditDeps } from '../audit/trail.ts';
import type { Database } from '../database.ts';
import type { IdempotencyDeps } from '../idempotency/once-per-key.ts';
import type { Policy } from '../policy/policy.ts';
import type { UpstreamObserver, VonageSecrets } from '../vonage/client.ts';
import type { AuditAttempt } from '../audit/recorder.ts';

/** What the secret use cases need; each is a small typed interface of its own concern. */
export interface SecretsDeps {
  /** The rotations table: a secret a rotation in progress holds is not revoked by hand. */
  db: Kysely<Database>;
  policy: Policy;
  vonage: VonageSecrets;
  audit: AuditDeps;
  idempotency: IdempotencyDeps;
}

/** Every audited use case starts from the attempt the route declared: who, what, on which account. */
export interface AuditedInput {
  attempt: AuditAttempt & { apiKey: string };
  /** Hears about the Vonage call for logs and metrics; the audit gets its facts from return values. */
  observe?: UpstreamObserver;
}
