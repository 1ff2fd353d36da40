/** Where and how the audit log is streamed to a SIEM: declared here, parsed from the environment by config. */
export type AuditStreamSettings =
  | { url: string; format: 'webhook'; secret: string; batch: number }
  | { url: string; format: 'splunk-hec'; token: string; batch: number };
