#!/usr/bin/env node
// spawn-worktree — create a branch and its own worktree from the main branch's tip, with
// the main worktree's git-ignored files (.env, node_modules, build caches) copied in, so
// that whoever works there can build and test at once.
//
// Run anywhere inside the repository (the main worktree or any other worktree).
//   args:   <branch>              the new branch, e.g. coven/brave-otter ('/' makes nested folders)
//           --worktree-base DIR   where worktrees go (default: $COVEN_WORKTREE_BASE, else ~/worktrees)
//           --from BRANCH         start from (and later land on) local BRANCH instead of the main branch
//   env:    COVEN_WORKTREE_BASE   default for --worktree-base
//           COVEN_COPY_THREADS    threads that copy (default: the number of cores, 2 to 4)
//   files:  creates <base>/<project>/<branch>, <project> being the main worktree's folder
//           name; the branch tracks the main branch (upstream remote ".") so land-worktree
//           knows where to land. Copies what `git ls-files --others --ignored
//           --exclude-standard --directory` lists in the main worktree, limited to what
//           .worktreeinclude (gitignore syntax, in the main worktree) matches when present.
//   prints: a summary on stderr; the new worktree's path on stdout (its last line)
//   exit:   0 spawned · 2 the branch or the folder already exists · 3 invalid branch name or
//           unknown --from branch · 4 no worktree can start here (not a git repository, bare
//           repository, no commits yet, main worktree on a detached HEAD) · 5 git worktree add
//           failed · 6 copying failed (the new worktree and branch were removed again)
//           64 bad arguments · 1 anything else
// Every refusal (exit 2-5) leaves the repository and the disk as they were.

import minimist from 'minimist';
import { runAsEntry } from './lib/ui/entry.js';
import { spawnWorktree, type SpawnOptions, type SpawnResult } from './lib/worktree/spawn.js';
import { describeCopy, problemFor } from './lib/worktree/spawn-messages.js';
import { formatProblem } from './lib/ui/problem.js';

const usage = `usage: coven spawn <branch> [--worktree-base DIR] [--from BRANCH]
       (standalone: node spawn-worktree.mjs <branch> [options])

Creates <branch> from the main branch's tip (the branch checked out in the main
worktree) and a worktree for it at <base>/<project>/<branch>, then copies the main
worktree's git-ignored files and folders into it (.env, node_modules, build caches;
only those matching .worktreeinclude when that file exists). The branch tracks the
main branch, so land-worktree knows where to land it.

options:
  --worktree-base DIR  where worktrees go (default: $COVEN_WORKTREE_BASE, else ~/worktrees)
  --from BRANCH        start from (and later land on) local BRANCH instead of the
                       main branch
  -h, --help           show this help

prints: a summary on stderr, the new worktree's path on stdout (last line)
exit:   0 spawned · 2 branch or folder already exists · 3 invalid branch name or
        unknown --from branch · 4 no worktree can start here (not a repository, bare,
        no commits yet, main worktree detached) · 5 git worktree add failed
        6 copying failed (worktree and branch removed again) · 64 bad arguments
        1 anything else
`;

export async function main(argv: string[]): Promise<number> {
  const unknown: string[] = [];
  const args = minimist(argv, {
    string: ['worktree-base', 'from'],
    boolean: ['help'],
    alias: { h: 'help' },
    unknown: (a) => {
      if (a.startsWith('-')) unknown.push(a);
      return !a.startsWith('-');
    },
  });
  if (args.help) {
    process.stdout.write(usage);
    return 0;
  }
  const positional = args._.map(String);
  const badValue = (['worktree-base', 'from'] as const).find((k) => k in args && (typeof args[k] !== 'string' || args[k] === ''));
  if (unknown.length > 0 || positional.length !== 1 || badValue) {
    const why = unknown.length > 0 ? `unknown option ${unknown.join(', ')}` : badValue ? `--${badValue} needs a value` : positional.length === 0 ? 'missing <branch>' : `expected one <branch>, got ${positional.length}`;
    process.stderr.write(`coven: ${why}\n\n${usage}`);
    return 64;
  }
  const opts: SpawnOptions = { cwd: process.cwd(), branch: positional[0]!, base: args['worktree-base'] as string | undefined, from: args.from as string | undefined };
  const result = await spawnWorktree(opts);
  if (result.kind === 'spawned') {
    process.stderr.write(`coven: spawned ${result.branch} from ${result.main}; ${describeCopy(result.copied)}\n`);
    process.stdout.write(`${result.path}\n`);
    return 0;
  }
  process.stderr.write(formatProblem(problemFor(result, opts)) + '\n');
  return exitCodes[result.kind];
}

const exitCodes: Record<Exclude<SpawnResult['kind'], 'spawned'>, number> = {
  'branch-exists': 2,
  'path-exists': 2,
  'invalid-branch': 3,
  'cannot-adopt': 3,
  'unknown-from': 3,
  'not-a-repo': 4,
  bare: 4,
  'no-commits': 4,
  detached: 4,
  'worktree-add-failed': 5,
  'copy-failed': 6,
};

runAsEntry(import.meta.url, main);
