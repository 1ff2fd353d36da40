/** The one row that says how far the SIEM has acknowledged the audit log: its seq and that record's hash. */
export interface AuditStreamCursorTable {
  id: number;
  seq: string;
  hash: Buffer;
  updated_at: Date;
}
