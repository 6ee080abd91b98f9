// wake — the two small files through which the git hooks wake sleeping workers:
//   <state dir>/main-branch   the full ref of the main branch ("refs/heads/main"), one
//                             line; the hooks compare HEAD with it (a shell `read`, no
//                             extra process). Written by `coven hooks install` and by
//                             every waiter (wait-for-main), so it follows the branch
//                             the workers actually wait on.
//   <state dir>/wake          touched by the hooks when that branch moved.
// Inputs: the state dir, a branch name. Outputs: those files.

import { readCapped } from '../files/read-capped.js';
import { writeAtomic } from '../files/write-atomic.js';
import { NOT_PLAIN } from '../ui/plain-text.js';
import { join } from 'node:path';

export function mainBranchFile(stateDir: string): string {
  return join(stateDir, 'main-branch');
}

export function wakeFile(stateDir: string): string {
  return join(stateDir, 'wake');
}

/** The main branch the hooks watch (short name), or null when none is recorded. */
export async function recordedMainBranch(stateDir: string): Promise<string | null> {
  // one line coven wrote; a FIFO, a link or a huge file there reads as nothing recorded
  const read = await readCapped(mainBranchFile(stateDir), 4096);
  if (read.kind !== 'read') return null;
  const line = read.text.split('\n')[0] ?? '';
  const name = line.startsWith('refs/heads/') ? line.slice('refs/heads/'.length) : '';
  // a name git would refuse (a control character, a space, ~^:?*[\) was not written by coven
  return name !== '' && !NOT_PLAIN.test(name) && !/[\s~^:?*[\\]/.test(name) ? name : null;
}

/** Records `branch` (short name) as the branch whose moves wake workers; no write when unchanged. */
export async function recordMainBranch(stateDir: string, branch: string): Promise<void> {
  if ((await recordedMainBranch(stateDir)) === branch) return;
  await writeAtomic(mainBranchFile(stateDir), `refs/heads/${branch}\n`);
}
