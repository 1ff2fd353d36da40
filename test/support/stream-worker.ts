import { startDeliverer } from '../../src/audit/stream/deliverer.ts';
import { createDatabase } from '../../src/database.ts';
import { createLogger } from '../../src/logger.ts';

/** A replica that only streams the audit log, so a test can kill it with SIGKILL mid-batch. */
const db = createDatabase({ connectionString: process.env.DATABASE_URL ?? '', logger: createLogger('error') });
startDeliverer(
  db,
  {
    url: process.env.SINK_URL ?? '',
    format: 'webhook',
    secret: process.env.STREAM_SECRET ?? '',
    batch: Number(process.env.BATCH ?? 4),
  },
  { logger: createLogger('error'), pollMs: 50 },
);
process.stdout.write('streaming\n');
