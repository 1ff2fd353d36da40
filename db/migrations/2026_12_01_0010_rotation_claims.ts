import { type Kysely, sql } from 'kysely';

/**
 * Completing and cancelling a rotation claim its row first (`completing`, `cancelling`) and only then
 * call Vonage, so two concurrent finishes can never both send a revoke: the second finds the claim and
 * is refused. Both claims still hold the account (one rotation in progress per account). Every change
 * bumps `version`, so a request that read the row moves it only if nobody moved it since.
 * Frozen in time: migrations never import application code.
 */
const STATES = (states: string[]) => sql.raw(states.map((state) => `'${state}'`).join(', '));
const DONE = ['completed', 'cancelled', 'failed'];

async function allow(db: Kysely<any>, inProgress: string[]): Promise<void> {
  await sql`alter table rotations drop constraint rotations_state_check`.execute(db);
  await sql`alter table rotations add constraint rotations_state_check
    check (state in (${STATES([...inProgress, ...DONE])}))`.execute(db);
  await sql`drop index rotations_one_in_progress_idx`.execute(db);
  await sql`create unique index rotations_one_in_progress_idx on rotations (api_key)
    where state in (${STATES(inProgress)})`.execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table rotations add column version integer not null default 0`.execute(db);
  await allow(db, ['creating', 'testing', 'awaiting_cutover', 'completing', 'cancelling']);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`update rotations set state = 'awaiting_cutover' where state in ('completing', 'cancelling')`.execute(db);
  await allow(db, ['creating', 'testing', 'awaiting_cutover']);
  await sql`alter table rotations drop column version`.execute(db);
}
