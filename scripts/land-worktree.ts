#!/usr/bin/env node
// land-worktree — put this worktree's commits on the main branch.
//
// Run inside a worker worktree (or pass --worktree).  Rebases the branch onto the tip
// of the branch it lands on, then fast-forwards that branch: in the worktree where it
// is checked out (`git merge --ff-only`, so the user's checkout moves too), or with a
// compare-and-swap `git update-ref` when it is checked out nowhere.  Never discards a
// commit, never overwrites uncommitted work, never resets or cleans anything.
//   args:   --keep           leave the worktree and branch in place afterwards
//                            (default: remove both once everything is on main)
//           --worktree DIR   the worker worktree (default: the current directory)
//           --onto BRANCH    land here (default: the branch's local upstream, else
//                            the branch checked out in the main worktree)
//   files:  <git-common-dir>/coven/locks/land, held for the fast-forward only
//   prints: one line per step; the last line says what happened (problems on stderr)
//   exit:   0 landed or nothing to land · 2 dirty tree · 3 conflict (rebase left open)
//           4 main's checkout has changes in the way, or is busy · 1 anything else
//           64 bad arguments
//
// Where to land: --onto when given, else the branch's upstream when that is a local
// branch (spawn-worktree creates worker branches with --track), else the branch
// checked out in the main worktree.
//
// Is `git merge --ff-only` safe against a concurrent land?  (git 2.39, builtin/merge.c)
// The ref update is a compare-and-swap: finish() calls update_ref("HEAD", new, old)
// with the HEAD it read at the start, so a merge never silently overwrites a tip that
// moved under it; it dies with "cannot lock ref".  But the working tree and index are
// updated first (checkout_fast_forward, which takes and releases index.lock) and the
// ref only afterwards.  Two merges racing in the same checkout can both pass the
// checkout step, and the loser's ref update then fails AFTER it has written its
// commit's files into the user's checkout: HEAD is the winner's commit, while the index
// and files also hold the loser's changes, which now look like uncommitted work.  No
// commit is lost, but the main worktree is left in a mess.  So the final check and
// fast-forward are serialized across workers by the land lock (scripts/lib/land-lock),
// and after the merge we verify that main still contains the tip we rebased onto.
// The user's own git commands in that checkout cannot take the land lock, and a commit
// of theirs in the same gap would leave the land's files staged in their checkout (or
// commit a tree that undoes them): so the fast-forward holds the checkout's index.lock
// until the index matches the new tip, and moves the ref only in its last instant
// (scripts/lib/locked-merge).

import minimist from 'minimist';
import { isEntry, runAsEntry } from './lib/ui/entry.js';
import { landWorktree } from './lib/land/land.js';
import { describeLand } from './lib/land/messages.js';
import { shellQuote } from './lib/ui/problem.js';

// ---------------------------------------------------------------------------------
// The command

const help = `usage: coven land [--keep] [--worktree DIR] [--onto BRANCH]
       (standalone: node land-worktree.mjs [options])

Puts the commits of a worker worktree on the main branch: rebases the branch onto
main's tip, then fast-forwards main (in the worktree where it is checked out, so the
user's checkout moves too).  Afterwards removes the worktree and its branch unless
--keep is given.  Nothing is ever discarded: a dirty tree, a conflict or uncommitted
work in main's checkout stops the land and says what to do.

options:
  --keep           keep the worktree and branch after landing
  --worktree DIR   the worker worktree to land (default: the current directory)
  --onto BRANCH    the branch to land on (default: the branch's local upstream,
                   else the branch checked out in the main worktree)
  -h, --help       show this help

exit codes: 0 landed or nothing to land · 2 the worktree has uncommitted changes
            3 conflict (the rebase is left in progress) · 4 main's checkout has
            changes in the way or is busy · 1 anything else · 64 bad arguments
`;

export async function main(argv: string[]): Promise<number> {
  const bad: string[] = [];
  const args = minimist(argv, {
    boolean: ['keep', 'help'],
    string: ['worktree', 'onto'],
    alias: { h: 'help' },
    unknown: (a) => {
      bad.push(a);
      return false;
    },
  });
  if (args.help) {
    process.stdout.write(help);
    return 0;
  }
  const worktreeArg = typeof args.worktree === 'string' && args.worktree ? args.worktree : undefined;
  const ontoArg = typeof args.onto === 'string' && args.onto ? args.onto : undefined;
  if (bad.length > 0 || ('worktree' in args && !worktreeArg) || ('onto' in args && !ontoArg)) {
    process.stderr.write(`coven: land: ${bad.length > 0 ? `unexpected argument ${bad.join(' ')}` : 'an option needs a value'}\n\n${help}`);
    return 64;
  }

  const self = isEntry(import.meta.url) ? `node ${shellQuote(process.argv[1] ?? 'land-worktree.mjs')}` : 'coven land';
  const result = await landWorktree({
    worktree: worktreeArg ?? process.cwd(),
    keep: Boolean(args.keep),
    onto: ontoArg,
    log: (line) => process.stdout.write(`  ${line}\n`),
  });
  const againArgs = [...(args.keep ? ['--keep'] : []), ...(ontoArg ? ['--onto', ontoArg] : [])];
  const out = describeLand(result, { self, againArgs });
  (out.ok ? process.stdout : process.stderr).write(`${out.text}\n`);
  return out.code;
}

runAsEntry(import.meta.url, main);
