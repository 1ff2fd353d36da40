/**
 * Anchors from whatever a reviewer exports out of the SIEM or the log pipeline, one JSON document a line:
 * checkpoints (log lines or stream bodies), streamed records (each carries its `seq` and `hash`), Splunk HEC
 * events (`{"event": …}`) and Splunk's JSON search export (`{"result": {"_raw": "<the event>"}}`). A line
 * that is not JSON is reported by its number; a JSON line without an anchor is simply not one.
 */
export interface Anchor {
  seq: number;
  hash: string;
  kind: 'checkpoint' | 'record';
  line: number;
}

export interface AnchorFile {
  anchors: Anchor[];
  unreadable_lines: number[];
}

const NESTED = ['records', 'event', 'checkpoint', 'result'];

function anchorOf(object: Record<string, unknown>, line: number): Anchor | undefined {
  const { kind, seq } = object;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) return undefined;
  if (kind === 'checkpoint' && typeof object.head_hash === 'string') return { seq, hash: object.head_hash, kind, line };
  if ((kind === 'event' || kind === 'outcome') && typeof object.hash === 'string')
    return { seq, hash: object.hash, kind: 'record', line };
  return undefined;
}

/** Walks one parsed line; returns false where an embedded `_raw` is not JSON. */
function collect(value: unknown, line: number, into: Anchor[]): boolean {
  if (Array.isArray(value)) return value.every((item) => collect(item, line, into));
  if (!value || typeof value !== 'object') return true;
  const object = value as Record<string, unknown>;
  const anchor = anchorOf(object, line);
  if (anchor) return void into.push(anchor) === undefined;
  if (typeof object._raw === 'string') {
    try {
      return collect(JSON.parse(object._raw), line, into);
    } catch {
      return false;
    }
  }
  return NESTED.every((key) => !(key in object) || collect(object[key], line, into));
}

export function parseAnchorFile(text: string): AnchorFile {
  const anchors: Anchor[] = [];
  const unreadable: number[] = [];
  text.split('\n').forEach((raw, index) => {
    if (!raw.trim()) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      unreadable.push(index + 1);
      return;
    }
    if (!collect(parsed, index + 1, anchors)) unreadable.push(index + 1);
  });
  return { anchors: anchors.sort((a, b) => a.seq - b.seq), unreadable_lines: unreadable };
}
