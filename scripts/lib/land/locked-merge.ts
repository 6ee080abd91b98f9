// locked-merge — fast-forward the branch checked out in a worktree (the user's main
// worktree, where a land moves main) while holding that worktree's index.lock from
// before the first file changes until the index matches the new tip.
//
// Why not plain `git merge --ff-only`: it writes the files and the index first (taking
// and releasing index.lock), then moves the ref, then runs the post-merge hook. A `git
// commit` the user runs meanwhile reads HEAD and the index before it takes the lock:
// caught between the two, it leaves the land's changes staged in the user's checkout,
// or commits a tree that undoes them. So here, all under index.lock:
//   1. take index.lock (a git command of the user's now fails at once, as git does for
//      any two commands at once; one already holding it makes the land retry later);
//   2. on a copy of the index, `git read-tree -m -u <from> <to>`: the two-tree merge a
//      fast-forward does — it refuses local changes and untracked or ignored files in
//      the way — which writes the files (refused, it is tried once more after `git
//      update-index --refresh`: a file only touched is not a change);
//   3. rename the copy over the index, then move the branch with a compare-and-swap
//      `git update-ref --stdin` (with the caller's other ref updates, one transaction:
//      lib/git/ref-transaction.ts), then release the lock. A command that read HEAD and the index
//      in between saw the old HEAD: its own compare-and-swap of HEAD fails, cleanly;
//   4. run the post-merge hook, as git merge would (it wakes sleeping workers).
// If the branch moved meanwhile without the index lock, the files and index are put back.
// It runs as a small sh script (the git runner's gitScript) in a process group of its
// own, with its output in a file: a worker killed mid-land (kill -9, or Ctrl-C to its
// group) never leaves the user's checkout half updated or its index locked.
// Inputs: the checkout, its git dir, the branch's full ref, the old and new tips, and the
// ref changes that go with the branch's move.
// Outputs: a GitResult; stderr reads like git's ("Unable to create '…/index.lock': File
// exists", "error: Entry 'x' not uptodate", "cannot lock ref …").

import { gitScript, type GitResult } from '../git/runner.js';
import { transactionText, type LocalRefUpdate } from '../git/ref-transaction.js';

const script = `
gitdir=$1; updates=$2; from=$3; to=$4
lock="$gitdir/index.lock"; copy="$gitdir/coven-ff-index.$$"
if ! (set -C; printf 'coven land (pid %s)\\n' "$$" > "$lock") 2>/dev/null; then
  echo "fatal: Unable to create '$lock': File exists." >&2
  exit 128
fi
giveup() { rm -f "$copy" "$lock"; exit "$1"; }
if [ -f "$gitdir/index" ]; then cp "$gitdir/index" "$copy" || giveup 1; fi
# a file whose time changed but not its content (touch, an editor's save) is not a local
# change: when read-tree refuses (it checks before it writes anything), refresh the copy's
# stat data, as git merge does, and try once more; a file that really changed is refused
# again. (Refreshing first every time costs a stat of every tracked file under the lock.)
if ! GIT_INDEX_FILE=$copy git read-tree -m -u "$from" "$to" 2>/dev/null; then
  GIT_INDEX_FILE=$copy git update-index -q --refresh >/dev/null 2>&1
  GIT_INDEX_FILE=$copy git read-tree -m -u "$from" "$to" || giveup $?
fi
mv -f "$copy" "$gitdir/index" || giveup 1
if ! printf '%s' "$updates" | git update-ref -m "\${GIT_REFLOG_ACTION:-coven land}: Fast-forward" --stdin; then
  # the branch moved without the index lock: put the files and the index back
  cp "$gitdir/index" "$copy" && GIT_INDEX_FILE=$copy git read-tree -m -u "$to" "$from" && mv -f "$copy" "$gitdir/index"
  giveup 1
fi
rm -f "$lock"
git hook run --ignore-missing post-merge -- 0 >&2 || true
exit 0
`;

/**
 * Fast-forwards `ref`, checked out in `checkout`, from `from` to `to`, under its
 * index.lock; `withMain`: more ref changes in the same transaction (all or none).
 */
export async function lockedMerge(checkout: string, gitDir: string, ref: string, from: string, to: string, env: NodeJS.ProcessEnv = {}, withMain: LocalRefUpdate[] = []): Promise<GitResult> {
  const updates = transactionText([{ ref, to, expect: from }, ...withMain]);
  if (updates === null) return { ok: false, code: 1, stdout: '', stderr: `coven: not a ref update git can check: ${JSON.stringify(withMain)}\n` };
  return gitScript(checkout, script, 'coven-locked-merge', [gitDir, updates, from, to], env);
}

/** The paths a refused fast-forward names: local changes, or untracked/ignored files in the way. */
export function pathsInTheWay(stderr: string): string[] {
  const found: string[] = [];
  for (const m of stderr.matchAll(/^error: (?:Entry|Untracked working tree file|Updating) '(.+?)' (?:not uptodate|would be overwritten|would lose untracked)/gm)) found.push(m[1]!);
  return found;
}
