#!/usr/bin/env node
// list-issues — coven issues: one line per issue file; its contract is the usage text below.

const help = `usage: coven issues [--json] [--dir <worktree>]

Lists issues/*.md and review/*.md of the worktree you are in, one line each:
  <path>  <state>  <priority>  <title>
sorted by priority (P0 first), then path. A missing value shows as ?, an unknown
one as ?<value>; a file with unreadable frontmatter is listed with a note.

  --json          print [{"path", "state", "priority", "title", "note"}, ...]
  --dir <path>    use the worktree containing <path> instead of the current one

Frontmatter: priority: P0|P1|P2, state: new|review|approved|changes-requested|
needs-replan, title (optional; else the first # heading, else the file name).
reads: issues/*.md, review/*.md of the worktree; prints "no issues" when there are none
exit: 0 listed · 2 not in a git worktree · 64 bad usage
`;

import { parseCommandLine } from './lib/ui/command-line.js';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { findRepo } from './lib/git/runner.js';
import { runAsEntry } from './lib/ui/entry.js';
import { decodeUtf8, frontmatterProblem, readFrontmatter } from './lib/agents/frontmatter.js';
import { formatProblem } from './lib/ui/problem.js';
import { readCapped, type CappedRead } from './lib/files/read-capped.js';
import { escapeNotPlain } from './lib/ui/plain-text.js';

export const ISSUE_DIRS = ['issues', 'review'];
export const PRIORITIES = ['P0', 'P1', 'P2'] as const;
export const STATES = ['new', 'review', 'approved', 'changes-requested', 'needs-replan'] as const;

export interface IssueEntry {
  /** relative to the worktree, e.g. `issues/fix-scroll.md` */
  path: string;
  /** a known state, `?` when missing, `?<value>` when unknown */
  state: string;
  /** P0|P1|P2, `?` when missing, `?<value>` when unknown */
  priority: string;
  title: string;
  /** why the frontmatter could not be read, or null */
  note: string | null;
}

/** Reads one issue file's bytes into an entry; never fails. */
export function parseIssueFile(path: string, bytes: Uint8Array): IssueEntry {
  const fileName = path.slice(path.lastIndexOf('/') + 1);
  const decoded = decodeUtf8(bytes);
  if (decoded.kind === 'not-utf8') return { path, state: '?', priority: '?', title: fileName, note: 'bad frontmatter: not UTF-8 text' };
  const fm = readFrontmatter(decoded.text);
  if (fm.kind === 'none') return { path, state: '?', priority: '?', title: headingOf(fm.body) ?? fileName, note: null };
  if (fm.kind !== 'ok') return { path, state: '?', priority: '?', title: fileName, note: `bad frontmatter: ${frontmatterProblem(fm) ?? fm.kind}` };
  const title = typeof fm.data.title === 'string' && fm.data.title.trim() ? oneLine(fm.data.title) : headingOf(fm.body) ?? fileName;
  return { path, state: known(fm.data.state, STATES), priority: known(fm.data.priority, PRIORITIES), title, note: null };
}

/** an issue file's size limit: an issue is read by the dispatch agent, never megabytes */
export const MAX_ISSUE_BYTES = 256 * 1024;

/** An issue file that was not read, listed with why (named, never a hang). */
function unreadIssue(path: string, read: Exclude<CappedRead, { kind: 'read' | 'missing' }>): IssueEntry {
  const why = read.kind === 'not-a-file' ? `is ${read.what}, not a file` : read.kind === 'too-big' ? `${read.bytes} bytes, over the limit of ${read.maxBytes}` : read.message;
  return { path, state: '?', priority: '?', title: path.slice(path.lastIndexOf('/') + 1), note: `not read: ${why}` };
}

/** Every issue of the worktree at `toplevel`, sorted by priority then path. */
export async function listIssues(toplevel: string): Promise<IssueEntry[]> {
  const entries: IssueEntry[] = [];
  for (const dir of ISSUE_DIRS) {
    let names: string[];
    try {
      names = await readdir(join(toplevel, dir));
    } catch {
      continue; // a missing issues/ or review/ simply has no issues
    }
    for (const name of names.filter((n) => n.endsWith('.md'))) {
      // an issue file is untrusted (an agent can commit one): a regular file only, never
      // followed through a link (a link to /dev/stdin or a FIFO would hang), capped
      const read = await readCapped(join(toplevel, dir, name), MAX_ISSUE_BYTES);
      if (read.kind === 'read') entries.push(parseIssueFile(`${dir}/${name}`, read.bytes));
      else if (read.kind === 'not-a-file' && read.what === 'a directory') continue; // a folder named *.md is not an issue
      else if (read.kind !== 'missing') entries.push(unreadIssue(`${dir}/${name}`, read));
    }
  }
  return sortIssues(entries);
}

export function sortIssues(entries: IssueEntry[]): IssueEntry[] {
  const rank = (p: string) => {
    const i = (PRIORITIES as readonly string[]).indexOf(p);
    return i < 0 ? PRIORITIES.length : i;
  };
  return [...entries].sort((a, b) => rank(a.priority) - rank(b.priority) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Aligned, one line per issue; `no issues` when empty. A file name or title is untrusted
 * text: a line break or control character in it is shown escaped (`\u000a`), so it can
 * neither forge another line nor drive the terminal.
 */
export function formatIssues(raw: IssueEntry[]): string {
  if (raw.length === 0) return 'no issues\n';
  const entries = raw.map((e) => ({ path: escapeNotPlain(e.path), state: escapeNotPlain(e.state), priority: escapeNotPlain(e.priority), title: escapeNotPlain(e.title), note: e.note === null ? null : escapeNotPlain(e.note) }));
  const width = (k: 'path' | 'state' | 'priority') => Math.max(...entries.map((e) => e[k].length));
  const [wp, ws, wr] = [width('path'), width('state'), width('priority')];
  return entries
    .map((e) => `${e.path.padEnd(wp)}  ${e.state.padEnd(ws)}  ${e.priority.padEnd(wr)}  ${e.title}${e.note ? ` (${e.note})` : ''}`)
    .join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine(argv, { command: 'coven issues', usage: help, boolean: ['json'], string: ['dir'] });
  if (cl.kind === 'exit') return cl.code;
  const args = cl.args;
  const dir = resolve(typeof args.dir === 'string' ? args.dir : process.cwd());
  const repo = await findRepo(dir);
  if (repo.kind !== 'repo') {
    process.stderr.write(formatProblem({ what: `${dir} is not inside a git worktree, so there are no issues to list.`, next: ['cd into your repository (or pass --dir <worktree>) and run: coven issues'] }) + '\n');
    return 2;
  }
  const entries = await listIssues(repo.paths.toplevel);
  process.stdout.write(args.json ? JSON.stringify(entries, null, 2) + '\n' : formatIssues(entries));
  return 0;
}

function known(value: unknown, allowed: readonly string[]): string {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return '?';
  const s = oneLine(String(value));
  if (s === '') return '?';
  return allowed.includes(s) ? s : `?${s.slice(0, 40)}`;
}

function headingOf(body: string): string | null {
  const m = /^#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$/m.exec(body);
  return m?.[1] ? oneLine(m[1]) : null;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

runAsEntry(import.meta.url, main);
