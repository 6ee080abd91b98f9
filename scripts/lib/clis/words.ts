// words — the small text helpers the adapters use on what a CLI printed: its first line,
// a cut to a length, all of it on one line. Pure.

export function firstLine(text: string): string {
  return text.trim().split(/\r?\n/)[0] ?? '';
}

/** At most `max` characters, `…` marking a cut. */
export function cut(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Whitespace runs as one space, trimmed, cut to `max`. */
export function oneLine(text: string, max = 200): string {
  return cut(text.replace(/\s+/g, ' ').trim(), max);
}
