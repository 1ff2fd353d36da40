import { type Kysely, sql } from 'kysely';

/**
 * A refusal because of state (a rotation already in progress, not awaiting cutover, claimed by another
 * request) is its own outcome, `conflict`, not `invalid`, which means bad input. The outcome is part of
 * the chained text as a value, so earlier records are untouched.
 * Frozen in time: migrations never import application code.
 */
const OUTCOMES = ['success', 'replayed', 'denied', 'invalid', 'upstream_rejected', 'upstream_failed'];

async function allow(db: Kysely<any>, outcomes: string[]): Promise<void> {
  const list = sql.raw(outcomes.map((outcome) => `'${outcome}'`).join(', '));
  await sql`alter table audit_outcomes drop constraint audit_outcomes_outcome_check`.execute(db);
  await sql`alter table audit_outcomes add constraint audit_outcomes_outcome_check check (outcome in (${list}))`.execute(
    db,
  );
}

export async function up(db: Kysely<any>): Promise<void> {
  await allow(db, [...OUTCOMES, 'conflict']);
}

export async function down(db: Kysely<any>): Promise<void> {
  await allow(db, OUTCOMES);
}
