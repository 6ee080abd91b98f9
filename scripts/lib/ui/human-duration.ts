// human-duration — one way to print a length of time: 850ms, 12s, 4m05s, 2h07m, 3d04h.

export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** `14:32` (local time) from an ISO time or a Date; the text as it is when it is not a time. */
export function clockTime(at: string | Date): string {
  const t = new Date(at);
  if (Number.isNaN(t.getTime())) return String(at);
  return `${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}`;
}

/**
 * The longest wait a timer can hold: Node stores a delay in 32 bits, and a longer one
 * (or Infinity) fires after 1 ms, with only a warning. About 24.8 days.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The longest session --timeout, in minutes (24.3 days, under MAX_TIMER_MS). */
export const MAX_TIMEOUT_MINUTES = 35_000;

/** Reads a length of time as a user types it: a number with s, m or h (30s, 10m, 1.5h); a bare number is minutes. Null when it is not one, or longer than a timer holds (MAX_TIMER_MS). */
export function parseDuration(text: string): number | null {
  const ms = readDuration(text);
  return ms !== null && ms > 0 && ms <= MAX_TIMER_MS ? ms : null;
}

/** True when `text` is a duration, but longer than a timer holds (say "at most 24 days", not "not a duration"). */
export function tooLongForTimer(text: string): boolean {
  return (readDuration(text) ?? 0) > MAX_TIMER_MS;
}

function readDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  return m ? Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'm') as 's' | 'm' | 'h'] : null;
}

/** A session --timeout in minutes, or null when it is not a number of minutes a timer holds. */
export function parseTimeoutMinutes(text: string): number | null {
  const n = Number(text);
  return n > 0 && n <= MAX_TIMEOUT_MINUTES ? n : null;
}

/** The usage message for a bad --timeout MINUTES. */
export const TIMEOUT_MINUTES_RULE = `--timeout takes a number of minutes, at most ${MAX_TIMEOUT_MINUTES}`;
