import { describe, expect, test } from '@jest/globals';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import winston from 'winston';
import { createLogger, preparedLine } from '../src/logger.ts';

/** A logger writing to memory, at `level`, and the lines it wrote, parsed. */
function capture(level = 'debug') {
  const lines: string[] = [];
  const sink = new Writable({
    write: (chunk, _encoding, done) => {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger(level, new winston.transports.Stream({ stream: sink }));
  return { logger, lines, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const withoutTime = ({ timestamp, ...rest }: Record<string, unknown>) => ({ ...rest, stamped: typeof timestamp });

describe('preparedLine', () => {
  test('when a line is written through the template, then it reads as the same line written through winston', () => {
    const { logger, parsed } = capture();
    const fields = { request_id: 'r-1', actor: null, method: 'GET', status: 200, skipped: undefined, ok: true };
    const write = preparedLine(logger, 'request', ['request_id', 'actor', 'method', 'status', 'skipped', 'ok']);

    write(fields);
    logger.info('request', fields);

    const [prepared, plain] = parsed().map(withoutTime);
    expect(prepared).toEqual(plain);
    expect(prepared).toEqual({ level: 'info', message: 'request', ...fields, skipped: undefined, stamped: 'string' });
  });

  test('when any text is a value, then the line is one JSON object that gives it back unchanged', () => {
    const { logger, lines } = capture();
    const write = preparedLine(logger, 'request', ['route', 'actor']);
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), (route, actor) => {
        lines.length = 0;
        write({ route, actor });
        expect(lines).toHaveLength(1);
        expect(lines[0]?.trimEnd()).not.toContain('\n');
        expect(JSON.parse(lines[0] as string)).toMatchObject({ route, actor });
      }),
    );
  });

  test.each(['token', 'client_secret', 'Authorization', 'password'])(
    'when a field is named %s, then the template is refused, since its value would go unredacted',
    (key) => {
      expect(() => preparedLine(capture().logger, 'request', ['method', key])).toThrow(key);
    },
  );

  test('when the logger is set above info, then nothing is written', () => {
    const { logger, lines } = capture('warn');

    preparedLine(logger, 'request', ['method'])({ method: 'GET' });

    expect(lines).toEqual([]);
  });

  test('when the logger is not winston (a test double), then the line goes to its info', () => {
    const seen: unknown[] = [];
    const double = { error() {}, warn() {}, debug() {}, info: (...args: unknown[]) => seen.push(args) };

    preparedLine(double, 'request', ['method'])({ method: 'GET' });

    expect(seen).toEqual([['request', { method: 'GET' }]]);
  });
});
