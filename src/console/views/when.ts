import { html } from 'htm/preact';

/** "3 days ago", with the exact time on hover (and for screen readers, in the datetime attribute). */
const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

export function ago(iso: string, now = Date.now()): string {
  const elapsed = Date.parse(iso) - now;
  const [unit, size] = UNITS.find(([, ms]) => Math.abs(elapsed) >= ms) ?? ['minute', 60_000];
  return relative.format(Math.round(elapsed / size), unit);
}

export const When = ({ iso }: { iso: string }) =>
  html`<time datetime=${iso} title=${new Date(iso).toUTCString()}>${ago(iso)}</time>`;
