// plain-text — what counts as plain single-line text, and how text that is not is shown.
// Agent output (dispatch values, the live view of a session) reaches the terminal; a
// control character in it could move the cursor, clear the screen or set the title.
//
// Pure: strings in, strings out.

/**
 * Characters that are not plain single-line text: every control character (tab, vertical
 * tab, CR, ESC, DEL, NEL and the other C1 controls), the Unicode line and paragraph
 * separators, and the bidirectional embedding, override and isolate marks (they reorder
 * what a terminal shows).
 */
export const NOT_PLAIN = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;
const NOT_PLAIN_ALL = new RegExp(NOT_PLAIN.source, 'gu');

/** `text` with every character that is not plain written as `\uXXXX`, so none reaches a terminal raw. */
export function escapeNotPlain(text: string): string {
  return text.replace(NOT_PLAIN_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const NOT_PLAIN_BUT_NEWLINE = new RegExp(`(?!\\n)${NOT_PLAIN.source}`, 'gu');

/**
 * A message as it may reach a terminal: every character that is not plain written as
 * `\uXXXX`, except the newlines between its lines. A message names files, branches and
 * commits an agent made; a control character in one must not move the cursor, clear
 * the screen or set the title.
 */
export function forTerminal(text: string): string {
  return text.replace(NOT_PLAIN_BUT_NEWLINE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
