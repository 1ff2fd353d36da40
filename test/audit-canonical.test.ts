import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { type Kysely, sql } from 'kysely';
import { eventCanonical, outcomeCanonical } from '../src/audit/canonical.ts';
import { AUDIT_ACTIONS } from '../src/audit/vocabulary.ts';
import { createDatabase, type Database } from '../src/database.ts';
import { createLogger } from '../src/logger.ts';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-db.ts';

/**
 * The verifier's canonical text (TypeScript, from raw columns) against the SQL functions the insert trigger
 * uses, on generated records: every column, nulls, any Unicode Postgres can store, any time, any session
 * time zone. The rows are built in memory as the tables' row types, so no constraint narrows the inputs.
 */
let scratch: ScratchDatabase;
let db: Kysely<Database>;
beforeAll(async () => {
  scratch = await createScratchDatabase('canonical');
  db = createDatabase({ connectionString: scratch.auditorUrl, logger: createLogger('error'), max: 1 });
});
afterAll(async () => {
  await db.destroy();
  await scratch.drop();
});

const text = fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replaceAll('\u0000', ''));
const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });
const bigintText = fc.bigInt({ min: 1n, max: 9_223_372_036_854_775_807n }).map(String);
/** Microsecond instants from year 1970 to 9999, as Postgres stores them. */
const instant = fc.bigInt({ min: 0n, max: 253_402_300_799_999_999n }).map(String);
const zone = fc.constantFrom('UTC', 'Europe/Berlin', 'America/St_Johns', 'Asia/Kathmandu', 'Pacific/Chatham');
const ip = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4().map((a) => `${a.replace(/\.\d+$/, '.0')}/24`),
);

const withZone = <T>(tz: string, work: (trx: Kysely<Database>) => Promise<T>) =>
  db.transaction().execute(async (trx) => {
    await sql`select set_config('TimeZone', ${tz}, true)`.execute(trx);
    return work(trx);
  });

describe('the canonical text of an audit record', () => {
  test('when events are generated, then the TypeScript text equals audit_event_canonical for each', async () => {
    const event = fc.record({
      chain_seq: bigintText,
      id: bigintText,
      micros: instant,
      request_id: text,
      action: fc.constantFrom(...AUDIT_ACTIONS),
      actor_email: text,
      actor_user: nullable(text),
      actor_groups: fc.array(text, { maxLength: 4 }),
      api_key: nullable(text),
      secret_id: nullable(text),
      client_ip: nullable(ip),
      user_agent: nullable(text),
      rotation_id: nullable(fc.uuid()),
    });
    await fc.assert(
      fc.asyncProperty(event, zone, async ({ micros, ...e }, tz) => {
        const { rows } = await withZone(tz, (trx) =>
          sql<{ sql_text: string; at_micros: string; client_ip: string | null }>`
            with r as (select jsonb_populate_record(null::audit_events, ${JSON.stringify(e)}::jsonb
              || jsonb_build_object('occurred_at', timestamptz 'epoch' + (${micros} || ' microseconds')::interval)) as r)
            select audit_event_canonical(r) as sql_text, (r).client_ip as client_ip,
              (extract(epoch from (r).occurred_at) * 1000000)::bigint::text as at_micros
            from r`.execute(trx),
        );
        const [found] = rows;
        expect(found?.at_micros).toBe(micros);
        expect(eventCanonical({ ...e, at_micros: micros, client_ip: found?.client_ip ?? null })).toBe(found?.sql_text);
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  test('when outcomes are generated, then the TypeScript text equals audit_outcome_canonical for each', async () => {
    const outcome = fc.record({
      chain_seq: bigintText,
      event_id: bigintText,
      micros: instant,
      outcome: fc.constantFrom('success', 'replayed', 'denied', 'invalid', 'upstream_rejected', 'upstream_failed'),
      status: fc.integer({ min: 100, max: 599 }),
      upstream_status: nullable(fc.integer({ min: 100, max: 599 })),
      created_secret_id: nullable(text),
      api_key: nullable(text),
    });
    await fc.assert(
      fc.asyncProperty(outcome, zone, async ({ micros, ...o }, tz) => {
        const { rows } = await withZone(tz, (trx) =>
          sql<{ sql_text: string }>`
            select audit_outcome_canonical(jsonb_populate_record(null::audit_outcomes, ${JSON.stringify(o)}::jsonb
              || jsonb_build_object('recorded_at', timestamptz 'epoch' + (${micros} || ' microseconds')::interval)))
              as sql_text`.execute(trx),
        );
        expect(outcomeCanonical({ ...o, at_micros: micros })).toBe(rows[0]?.sql_text);
      }),
      { numRuns: 300 },
    );
  }, 60_000);
});
