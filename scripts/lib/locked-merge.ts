// locked-merge — `git merge --ff-only <to>` in the checkout of the branch a land moves
// (the user's main worktree), holding that worktree's index.lock from before the first
// file changes until after the branch ref has moved.
//
// Why: git merge writes the files and the index first (taking and releasing index.lock)
// and moves the ref only afterwards. A `git commit` the user runs in that gap builds
// on the old tip from an index that already holds the land's files: the land's ref
// update then fails, and its changes are left staged in the user's checkout (or are
// swallowed into the user's commit). Holding index.lock throughout makes the user's
// command wait for the whole fast-forward or fail cleanly, as git does for any two
// commands at once. The merge works on a copy of the index (GIT_INDEX_FILE), which
// replaces the index only once the merge succeeded, the way git commits a lock file.
//
// It runs as a small sh script in a process group of its own, with its output in a
// file: a worker killed mid-land (kill -9, or Ctrl-C to the worker's group) can never
// leave the user's checkout half fast-forwarded or its index locked.
// Inputs: the checkout, its git dir, the commit to fast-forward to, extra env.
// Outputs: a GitResult (stderr reads like git's: "Unable to create '…/index.lock'"
// when the index is locked by another command).

import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GitResult } from './git.js';

const script = `
gitdir=$1; to=$2
lock="$gitdir/index.lock"; copy="$gitdir/coven-ff-index.$$"
if ! (set -C; printf 'coven land (pid %s)\\n' "$$" > "$lock") 2>/dev/null; then
  echo "fatal: Unable to create '$lock': File exists." >&2
  exit 128
fi
if [ -f "$gitdir/index" ] && ! cp "$gitdir/index" "$copy"; then rm -f "$lock" "$copy"; exit 1; fi
GIT_INDEX_FILE=$copy git merge --ff-only --no-overwrite-ignore --quiet "$to"
code=$?
if [ "$code" -eq 0 ]; then
  mv -f "$copy" "$lock" && mv -f "$lock" "$gitdir/index" && exit 0
  code=1
fi
rm -f "$copy" "$lock"
exit "$code"
`;

/** Fast-forwards the branch checked out in `checkout` to `to` under its index.lock. */
export function lockedMerge(checkout: string, gitDir: string, to: string, env: NodeJS.ProcessEnv = {}): Promise<GitResult> {
  const dir = mkdtempSync(join(tmpdir(), 'coven-ff-'));
  const errFile = join(dir, 'stderr');
  const err = openSync(errFile, 'w+');
  return new Promise<GitResult>((resolve) => {
    const child = spawn('/bin/sh', ['-c', script, 'coven-locked-merge', gitDir, to], {
      cwd: checkout,
      env: { ...process.env, ...env },
      detached: true, // outlives the worker whatever kills it
      stdio: ['ignore', 'ignore', err],
    });
    let done = false;
    const finish = (code: number, extra = ''): void => {
      if (done) return;
      done = true;
      closeSync(err);
      const stderr = readFileSync(errFile, 'utf8') + extra;
      rmSync(dir, { recursive: true, force: true });
      resolve({ ok: code === 0, code, stdout: '', stderr });
    };
    child.on('error', (e) => finish(1, e.message));
    child.on('exit', (code, signal) => finish(code ?? (signal ? 128 : 1)));
  });
}
