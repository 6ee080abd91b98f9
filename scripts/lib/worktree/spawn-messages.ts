// spawn messages — what spawn says: the summary of a copy and the message of every
// refusal (used by the spawn-worktree step and by the worker).

import { basename } from 'node:path';
import { shellQuote, type Problem } from '../ui/problem.js';
import type { CopyMethod, CopySummary, SpawnOptions, SpawnResult } from './spawn.js';

/** "copied 2 ignored entries (5 files, 1.2 KiB, …); 1 ignored entry left as checked out (the branch has it, …): .env" */
export function describeCopy(c: CopySummary): string {
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  const parts: string[] = [];
  if (c.entries > 0) parts.push(`copied ${n(c.entries, 'ignored entry', 'ignored entries')} (${n(c.files, 'file', 'files')}, ${formatBytes(c.bytes)}, ${methodWords[c.method]})`);
  if (c.checkedOut.length > 0) {
    const names = c.checkedOut.length <= 3 ? c.checkedOut.join(', ') : `${c.checkedOut.slice(0, 3).join(', ')}, …`;
    parts.push(`${n(c.checkedOut.length, 'ignored entry', 'ignored entries')} left as checked out (the branch has ${c.checkedOut.length === 1 ? 'it' : 'them'}, not copied over): ${names}`);
  }
  if (c.skipped > 0) parts.push(`${n(c.skipped, 'file', 'files')} inside left alone (already checked out, or not a regular file)`);
  return parts.length > 0 ? parts.join('; ') : 'no ignored files to copy';
}

const methodWords: Record<CopyMethod, string> = { clone: 'copy-on-write clones', copy: 'copied byte by byte: no copy-on-write on this filesystem', mixed: 'some copy-on-write clones, some byte copies', none: 'nothing to copy' };

/** The command that runs this step again, as the user started it. */
function commandAgain(opts: SpawnOptions, branch = opts.branch): string {
  const script = basename(process.argv[1] ?? '');
  const cmd = /^coven(\.js)?$/.test(script) || script === '' ? 'coven spawn' : `node ${shellQuote(process.argv[1] ?? script)}`;
  const word = (w: string) => (/^<[a-z-]+>$/.test(w) ? w : shellQuote(w)); // placeholders stay readable
  const parts = [cmd, word(branch)];
  if (opts.base) parts.push('--worktree-base', word(opts.base));
  if (opts.from) parts.push('--from', word(opts.from));
  return parts.join(' ');
}

/**
 * The message for a refusal. `again` builds the command that runs the step again
 * (default: this script's own command line; the worker passes `coven worker …`).
 */
export function problemFor(r: Exclude<SpawnResult, { kind: 'spawned' }>, opts: SpawnOptions, again: (opts: SpawnOptions, branch?: string) => string = commandAgain): Problem {
  const commandAgain = again;
  const nothing = 'Nothing was created or changed.';
  switch (r.kind) {
    case 'not-a-repo':
      return { what: `cannot spawn a worktree: ${r.cwd} is not inside a git repository.`, kept: nothing, next: ['cd into your repository, then run:', commandAgain(opts)] };
    case 'bare':
      return {
        what: `cannot spawn a worktree: ${r.cwd} belongs to a bare repository, which has no main worktree to start from or copy files from.`,
        kept: nothing,
        next: ['Run it inside a clone with a checkout (git clone without --bare).'],
      };
    case 'no-commits':
      return {
        what: `cannot spawn a worktree: the main branch '${r.main}' has no commits yet, so there is nothing to start from.`,
        kept: nothing,
        next: ['Make a first commit in the main worktree, e.g.', 'git commit --allow-empty -m "initial commit"', 'then run:', commandAgain(opts)],
      };
    case 'detached':
      return {
        what: `cannot spawn a worktree: the main worktree ${r.mainWorktree} has no branch checked out (detached HEAD), so there is no main branch to start from.`,
        kept: nothing,
        next: [`Check out your main branch there (git -C ${shellQuote(r.mainWorktree)} switch <branch>), or name the branch to start from:`, commandAgain({ ...opts, from: '<branch>' })],
      };
    case 'invalid-branch':
      return {
        what: `'${r.branch}' is not a valid branch name (git check-ref-format --branch refuses it).`,
        kept: nothing,
        next: ['Pick a name like coven/brave-otter (no spaces, "..", "~", "^", ":", "?", "*", "[", no leading "-" or "."), then run:', commandAgain(opts, '<branch>')],
      };
    case 'cannot-adopt':
      return {
        what: `cannot give branch '${r.branch}' a worktree again: ${r.reason}.`,
        kept: `Nothing was created or changed; '${r.branch}' is untouched.`,
        next: ['See the worktrees and branches with: git worktree list; git branch', 'then run:', commandAgain(opts)],
      };
    case 'unknown-from':
      return {
        what: `--from ${r.from}: there is no local branch of that name.`,
        kept: nothing,
        next: ['See the local branches with: git branch', '(for a remote one, create a local branch from it first), then run:', commandAgain({ ...opts, from: '<branch>' })],
      };
    case 'branch-exists':
      return {
        what:
          r.existing === r.branch
            ? `branch '${r.branch}' already exists.`
            : `branch '${r.branch}' cannot be created: branch '${r.existing}' exists (git cannot have both 'a' and 'a/b').`,
        kept: `Nothing was created or changed; '${r.existing}' is untouched.`,
        next: ['Pick another name:', commandAgain(opts, '<another-branch>'), `or see where '${r.existing}' is checked out: git worktree list`],
      };
    case 'path-exists':
      return {
        what: `cannot spawn ${r.branch}: ${r.path} already exists.`,
        kept: 'Nothing was created or changed; that folder is untouched.',
        next: ['Pick another branch name or another base folder:', commandAgain({ ...opts, base: '<dir>' }), `or, if it is a worktree you no longer need: git worktree remove ${shellQuote(r.path)}`],
      };
    case 'worktree-add-failed':
    case 'copy-failed':
      return problemAfterMaking(r, opts, commandAgain);
  }
}

/** The message for a spawn that failed after it had made something (all of it removed again, or what was left). */
function problemAfterMaking(r: Extract<SpawnResult, { kind: 'worktree-add-failed' | 'copy-failed' }>, opts: SpawnOptions, commandAgain: (opts: SpawnOptions, branch?: string) => string): Problem {
  switch (r.kind) {
    case 'worktree-add-failed':
      return {
        what: `git worktree add failed for ${r.path}:\n  ${r.message.replace(/\n/g, '\n  ')}`,
        kept:
          r.left.length === 0
            ? `Nothing this spawn made is left: a branch '${r.branch}' or folder it created was removed again.`
            : `Removed again what this spawn made, except: ${r.left.join(', ')}.`,
        next: ['Fix the cause above, then run:', commandAgain(opts)],
      };
    case 'copy-failed': {
      const full = ['ENOSPC', 'EDQUOT', 'EFBIG'].includes(r.error.code);
      return {
        what: `copying the main worktree's ignored files into ${r.path} failed${full ? ' (disk full or file too large)' : ''}: ${r.error.message}`,
        kept:
          r.left.length === 0
            ? `The new worktree and branch '${r.branch}' held nothing but copies and were removed again. Your main worktree is untouched.`
            : `Your main worktree is untouched. Could not remove again: ${r.left.join(', ')} (they hold nothing but copies).`,
        next: [
          // (a branch that has moved since is someone's work: no command to delete it)
          ...[[r.left.includes(r.path) ? `git worktree remove --force ${shellQuote(r.path)}` : '', r.left.includes(`branch ${r.branch}`) ? `git branch -D ${shellQuote(r.branch)}` : ''].filter(Boolean).join('; ')].filter(Boolean),
          full ? 'Free some disk space (df -h), then run:' : 'Fix the cause above, then run:',
          commandAgain(opts),
        ],
      };
    }
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}
