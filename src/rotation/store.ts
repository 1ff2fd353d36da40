import type { Kysely, Selectable } from 'kysely';
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
  version: number;
  /** A delivery's rotation: the consumer's next delivery completes or cancels it, never a person. */
  consumerId: string | null;
}

export const toRotation = (row: Selectable<RotationsTable>): Rotation => ({
  id: row.id,
  apiKey: row.api_key,
  state: row.state,
  retireSecretId: row.retire_secret_id,
  newSecret: row.new_secret_id ? { id: row.new_secret_id, createdAt: row.new_secret_created_at ?? '' } : null,
  failure: row.failure,
  startedBy: row.started_by,
  startedAt: new Date(row.started_at),
  updatedAt: new Date(row.updated_at),
  version: row.version,
  consumerId: row.consumer_id,
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

/** The rotation in progress that holds `secretId` (as the one to retire or the new one), if any. */
export async function rotationHolding(
  db: Kysely<Database>,
  apiKey: string,
  secretId: string,
): Promise<Rotation | undefined> {
  const rotation = await findInProgress(db, apiKey);
  const held = rotation && (rotation.retireSecretId === secretId || rotation.newSecret?.id === secretId);
  return held ? rotation : undefined;
}

/** A second rotation while one is in progress is refused, naming the first (the index decides races). */
export async function insertRotation(
  db: Kysely<Database>,
  rotation: { id: string; apiKey: string; retireSecretId: string; startedBy: string; consumerId?: string },
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
        consumer_id: rotation.consumerId ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRotation(row);
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error;
    const first = await findInProgress(db, rotation.apiKey);
    throw new AppError(
      'rotation-conflict',
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

/**
 * Rotations left awaiting cutover since before `before`: consumers never switched, two secrets stay live.
 * A delivery's rotation waits for the consumer's next refresh by design, so it is never stale here.
 */
export async function awaitingCutoverSince(db: Kysely<Database>, before: Date): Promise<Rotation[]> {
  const rows = await db
    .selectFrom('rotations')
    .selectAll()
    .where('state', '=', 'awaiting_cutover')
    .where('consumer_id', 'is', null)
    .where('updated_at', '<', before)
    .execute();
  return rows.map(toRotation);
}

/** How many rotations a person must finish await cutover, per account (deliveries finish themselves). */
export async function awaitingCutoverCounts(db: Kysely<Database>): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('rotations')
    .select(['api_key', (eb) => eb.fn.countAll<string>().as('count')])
    .where('state', '=', 'awaiting_cutover')
    .where('consumer_id', 'is', null)
    .groupBy('api_key')
    .execute();
  return new Map(rows.map((row) => [row.api_key, Number(row.count)]));
}
