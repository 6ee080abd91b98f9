// problem — the one shape of every message coven prints about an expected failure:
// what happened, what was kept, and the next command(s) to run.

import { forTerminal } from './plain-text.js';

export interface Problem {
  /** one sentence: what happened */
  what: string;
  /** what was left as it was / saved, and where */
  kept?: string;
  /** commands or actions for the human, one per line */
  next?: string[];
}

export function formatProblem(p: Problem): string {
  const lines = [`coven: ${p.what}`];
  if (p.kept) lines.push(indent(p.kept, 2));
  if (p.next && p.next.length > 0) {
    lines.push('  Next:');
    for (const n of p.next) lines.push(indent(n, 4));
  }
  return lines.join('\n');
}

function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => (l ? pad + l : l))
    .join('\n');
}

/** Quotes a path or word for a command line shown to a human (POSIX sh single quotes when needed). */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./~-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Prints the problem on stderr and returns `code`: the last line of a step that stops on it. */
export function exitWithProblem(code: number, p: Problem): number {
  process.stderr.write(forTerminal(formatProblem(p)) + '\n');
  return code;
}
