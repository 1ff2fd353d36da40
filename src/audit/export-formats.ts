import type { AuditEventView } from './query.ts';

/** Line formats for exports. CSV cells that a spreadsheet would run as a formula are defused. */

export const CSV_COLUMNS = [
  'id',
  'occurred_at',
  'request_id',
  'action',
  'actor_email',
  'actor_user',
  'actor_groups',
  'api_key',
  'secret_id',
  'outcome',
  'status',
  'upstream_status',
  'client_ip',
  'user_agent',
  'rotation_id',
] as const;

export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`; // CSV injection: caller-controlled text must not become a formula
  // Quoted whenever a spreadsheet could split it: `;` is the list separator in de-DE, fr-FR and others.
  return /[",;\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV line of cells, each defused and quoted as csvCell says. */
export const toCsvCells = (cells: Array<string | number | null>) => `${cells.map(csvCell).join(',')}\r\n`;

export function toCsvLine(event: AuditEventView): string {
  const cells = [
    event.id,
    event.occurred_at,
    event.request_id,
    event.action,
    event.actor.email,
    event.actor.user,
    event.actor.groups.join(' '),
    event.api_key,
    event.secret_id,
    event.outcome,
    event.status,
    event.upstream_status,
    event.client_ip,
    event.user_agent,
    event.rotation_id,
  ];
  return toCsvCells(cells);
}

export const toNdjsonLine = (event: AuditEventView) => `${JSON.stringify(event)}\n`;

/** The streamed export formats, shared by GET /v1/audit-events (chosen by Accept) and `npm run audit`. */
export interface ExportFormat {
  mediaType: string;
  header: string;
  line: (event: AuditEventView) => string;
}

export const EXPORT_FORMATS = {
  csv: { mediaType: 'text/csv', header: CSV_HEADER, line: toCsvLine },
  ndjson: { mediaType: 'application/x-ndjson', header: '', line: toNdjsonLine },
} satisfies Record<string, ExportFormat>;
