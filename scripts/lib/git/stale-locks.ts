// stale-git-locks — remove the lock files that a git command killed mid-way (kill -9)
// leaves in a worktree coven is taking over: its index.lock, its HEAD.lock and the lock
// of its branch's ref. git removes them itself on a normal exit or a catchable signal;
// one left behind blocks every later git command there ("Unable to create
// '…/index.lock': File exists"). Called only once the worktree's owner (the dead worker
// and its agent session) is gone, and a lock is removed only if it stays for `waitMs`
// (a git command still running would have finished and removed it by then).
// Inputs: the worktree, the repository's common dir, the branch. Outputs: the files removed.

import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { gitDirOfWorktree } from './operation.js';
import { samePath } from '../files/same-path.js';

export async function clearStaleGitLocks(worktree: string, commonDir: string, branch: string, waitMs = 2000): Promise<string[]> {
  // only a worktree's own git dir (`<common>/worktrees/<id>`): a `.git` file an agent
  // pointed at the repository's git dir must not make coven remove the human's index.lock
  const named = gitDirOfWorktree(worktree);
  const gitDir = named && samePath(dirname(resolve(named)), join(commonDir, 'worktrees')) ? named : null;
  const candidates = [...(gitDir ? [join(gitDir, 'index.lock'), join(gitDir, 'HEAD.lock')] : []), join(commonDir, 'refs', 'heads', `${branch}.lock`)];
  const deadline = Date.now() + waitMs;
  let present = candidates.filter((f) => existsSync(f));
  while (present.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    present = present.filter((f) => existsSync(f));
  }
  const removed: string[] = [];
  for (const f of present) {
    try {
      await unlink(f);
      removed.push(f);
    } catch {
      // gone meanwhile
    }
  }
  return removed;
}
