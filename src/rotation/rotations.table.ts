import type { ColumnType } from 'kysely';

export const ROTATION_STATES = [
  'creating',
  'testing',
  'awaiting_cutover',
  'completing',
  'cancelling',
  'completed',
  'cancelled',
  'failed',
] as const;
export type RotationState = (typeof ROTATION_STATES)[number];
/** The states in which a rotation holds its account: at most one per account (a partial unique index). */
export const IN_PROGRESS: RotationState[] = ['creating', 'testing', 'awaiting_cutover', 'completing', 'cancelling'];

/** One guided rotation: its state survives a crash, so the next call continues or cleans up. */
export interface RotationsTable {
  id: string;
  api_key: string;
  state: RotationState;
  retire_secret_id: string;
  new_secret_id: string | null;
  new_secret_created_at: string | null;
  failure: string | null;
  started_by: string;
  started_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, never, Date>;
  /** Bumped by every transition: a request moves the row only if nobody moved it since it was read. */
  version: ColumnType<number, never, number>;
  /** Set when the rotation is a delivery: its consumer does the cutover itself (migration 0014). */
  consumer_id: ColumnType<string | null, string | null | undefined, never>;
}
