/** The audit log's words, shared by the server, its contract checks and the console (no Node types here). */

export const AUDIT_ACTIONS = [
  'secret.create',
  'secret.revoke',
  'secret.test',
  'rotation.start',
  'rotation.complete',
  'rotation.cancel',
  'delivery.generate',
  'consumer.register',
  'consumer.reissue',
  'consumer.revoke',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_OUTCOMES = [
  'success',
  'replayed',
  'denied',
  'invalid',
  'conflict',
  'upstream_rejected',
  'upstream_failed',
  'incomplete',
] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
