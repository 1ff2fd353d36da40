import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database } from '../database.ts';
import { AppError } from '../errors.ts';
import { IN_PROGRESS, type RotationState, type RotationsTable } from './rotations.table.ts';

/** Rotations in Postgres: the repository shape, one row mapper, small functions composed. */
export interface Rotation {
  id: string;
  apiKey: string;
  state: RotationState;
  retireSecretId: string;
  newSecret: { id: string; createdAt: string } | null;
  failure: string | null;
  startedBy: string;
  startedAt: Date;
  updatedAt: Date;
}

const toRotation = (row: Selectable<RotationsTable>): Rotation => ({
  id: row.id,
  apiKey: row.api_key,
  state: row.state,
  retireSecretId: row.retire_secret_id,
  newSecret: row.new_secret_id ? { id: row.new_secret_id, createdAt: row.new_secret_created_at ?? '' } : null,
  failure: row.failure,
  startedBy: row.started_by,
  startedAt: new Date(row.started_at),
  updatedAt: new Date(row.updated_at),
});

const inProgressFor = (db: Kysely<Database>, apiKey: string) =>
  db
    .selectFrom('rotations')
    .selectAll()
    .where('api_key', '=', apiKey)
    .where('state', 'in', IN_PROGRESS)
    .executeTakeFirst();

export async function findInProgress(db: Kysely<Database>, apiKey: string): Promise<Rotation | undefined> {
  const row = await inProgressFor(db, apiKey);
  return row && toRotation(row);
}

/** A second rotation while one is in progress is refused, naming the first (the index decides races). */
export async function insertRotation(
  db: Kysely<Database>,
  rotation: { id: string; apiKey: string; retireSecretId: string; startedBy: string },
): Promise<Rotation> {
  try {
    const row = await db
      .insertInto('rotations')
      .values({
        id: rotation.id,
        api_key: rotation.apiKey,
        state: 'creating',
        retire_secret_id: rotation.retireSecretId,
        started_by: rotation.startedBy,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRotation(row);
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error;
    const first = await findInProgress(db, rotation.apiKey);
    throw new AppError(
      'conflict',
      409,
      `Rotation ${first?.id ?? '(unknown)'} is already in progress on ${rotation.apiKey}; complete or cancel it first.`,
    );
  }
}

export async function findRotation(db: Kysely<Database>, apiKey: string, id: string): Promise<Rotation | undefined> {
  const row = await db
    .selectFrom('rotations')
    .selectAll()
    .where('api_key', '=', apiKey)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toRotation(row);
}

/** Moves a rotation on only from the states given, so two callers can never both complete it. */
export async function moveRotation(
  db: Kysely<Database>,
  id: string,
  from: RotationState[],
  to: RotationState,
  changes: { newSecret?: { id: string; createdAt: string }; failure?: string } = {},
): Promise<Rotation | undefined> {
  const row = await db
    .updateTable('rotations')
    .set({
      state: to,
      updated_at: sql<Date>`clock_timestamp()` as unknown as Date,
      ...(changes.newSecret
        ? { new_secret_id: changes.newSecret.id, new_secret_created_at: changes.newSecret.createdAt }
        : {}),
      ...(changes.failure ? { failure: changes.failure } : {}),
    })
    .where('id', '=', id)
    .where('state', 'in', from)
    .returningAll()
    .executeTakeFirst();
  return row && toRotation(row);
}

export async function listRotations(
  db: Kysely<Database>,
  filter: { apiKey?: string; since?: Date; limit?: number },
): Promise<Rotation[]> {
  let query = db
    .selectFrom('rotations')
    .selectAll()
    .orderBy('started_at', 'desc')
    .limit(filter.limit ?? 100);
  if (filter.apiKey) query = query.where('api_key', '=', filter.apiKey);
  if (filter.since) query = query.where('started_at', '>=', filter.since);
  return (await query.execute()).map(toRotation);
}
