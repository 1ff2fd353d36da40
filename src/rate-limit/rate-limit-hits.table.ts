/** One row per caller and budget: the hits counted in the current window, shared by every replica. */
export interface RateLimitHitsTable {
  key: string;
  hits: number;
  reset_at: Date;
}
