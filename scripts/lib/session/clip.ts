// clip — one line of the live view: tabs as spaces, control characters escaped (see
// plain-text), at most maxWidth long. Pure.

import { escapeNotPlain } from '../ui/plain-text.js';

export const maxWidth = 160;

export function clip(text: string): string {
  const line = escapeNotPlain(text.replace(/\t/g, '  '));
  return line.length > maxWidth ? `${line.slice(0, maxWidth - 1)}…` : line;
}

export { firstLine } from '../clis/words.js';
