// cli-handoff — a job goes on with the next CLI of its agent when the vendor of the one
// that ran refuses it (quota, rate limit, auth, overloaded): in the same worktree, where
// the refused session's commits and uncommitted changes stay as they are (nothing is
// reset or saved away between the two sessions). The next session is told what the
// previous one did: the job's own prompt, then one paragraph per refused session.
//
// Inputs: the worktree, the branch tip before the job, the refusal. Outputs: what the
// session left (its commits, the files it changed) and the prompt; the words are pure.

import type { CliName, Refusal, RefusalReason } from '../clis/adapter.js';
import { dirtyFiles, git } from '../git/runner.js';
import { oneLine as oneLineOf } from '../clis/words.js';

/** One refused session, as the next one is told about it. */
export interface Handoff {
  cli: CliName;
  /** `Claude Code`, `Codex` … */
  label: string;
  refusal: Refusal;
  /** `abc1234 subject`, oldest first: the commits made since the job started */
  commits: string[];
  /** files with uncommitted changes in the worktree when it was refused */
  dirty: string[];
}

const WHY: Record<RefusalReason, string> = {
  quota: 'its quota ran out',
  'rate-limit': 'it hit its rate limit',
  auth: 'its vendor refused its credentials',
  overloaded: 'its vendor was overloaded',
};

/** `codex (claude refused: quota)`: which CLI runs, and why it is not the first. */
export function describeCliChange(cli: CliName, refused: readonly { cli: CliName; refusal: Refusal }[]): string {
  if (refused.length === 0) return cli;
  return `${cli} (${refused.map((r) => `${r.cli} refused: ${r.refusal.reason}`).join(', ')})`;
}

/** One paragraph about one refused session. */
function paragraph(h: Handoff): string {
  const left = [h.commits.length > 0 ? `its commits ${h.commits.join(', ')}` : null, h.dirty.length > 0 ? `its uncommitted changes (${h.dirty.join(', ')})` : null].filter((x) => x !== null);
  const kept = left.length > 0 ? `${left.join(' and ')} are kept in this worktree; go on from there.` : 'it left no commit and no change; start from the worktree as it is.';
  const said = h.refusal.message.trim() ? ` (${oneLine(h.refusal.message)})` : '';
  return `A ${h.label} session worked on this before and stopped because ${WHY[h.refusal.reason]}${said}; ${kept}`;
}

/** The job's prompt for the next CLI: its own prompt, then what the refused sessions did. */
export function handoffPrompt(original: string, before: readonly Handoff[]): string {
  if (before.length === 0) return original;
  return `${original.trimEnd()}\n\n## Before you\n\n${before.map(paragraph).join('\n\n')}\nLook at \`git log\` and \`git status\` first; do not start over.\n`;
}

/** What a refused session left in the worktree: the commits since `before` (the branch tip when the job started), and the changed files. */
export async function whatWasLeft(worktree: string, before: string | null): Promise<{ commits: string[]; dirty: string[] }> {
  const log = before ? await git(worktree, ['log', '--reverse', '--format=%h %s', `${before}..HEAD`, '--']) : null;
  const commits = log?.ok ? log.stdout.split('\n').filter((l) => l.trim() !== '').map(oneLine) : [];
  const dirty = await dirtyFiles(worktree).catch(() => [] as string[]);
  return { commits: cap(commits), dirty: cap(dirty) };
}

/** At most 20 names, then how many more (a prompt, not a listing). */
function cap(list: string[]): string[] {
  return list.length <= 20 ? list : [...list.slice(0, 20), `and ${list.length - 20} more`];
}

/** one line of at most 200 characters and the `…` */
const oneLine = (s: string): string => oneLineOf(s, 201);
