import { type Kysely, sql } from 'kysely';

/** Shared rate-limit counters, so every replica draws on one budget per caller. Not audit data: rows are overwritten. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rate_limit_hits')
    .addColumn('key', 'text', (col) => col.primaryKey())
    .addColumn('hits', 'integer', (col) => col.notNull())
    .addColumn('reset_at', 'timestamptz', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('rate_limit_hits_reset_at_idx').on('rate_limit_hits').column('reset_at').execute();
  await sql`comment on table rate_limit_hits is 'express-rate-limit counters shared by all gateway replicas'`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limit_hits').execute();
}
