// shallow-guard — undoes a `git fetch --depth N` an agent ran in its worktree. The
// shallow file (<common dir>/shallow) is shared by every worktree: once it names a
// commit, the human's `git log` on main stops there, and their repository says it is a
// shallow clone. When the repository was whole before the job, every commit the file
// names still has its parents here (the fetch hides history, it deletes nothing), and
// moving the file aside (<state dir>/set-aside/shallow-<worker>-<time>) makes history
// whole again. A parent that is missing (the fetch brought new commits without their
// history) leaves the file where it is, and the worker says so. A repository that was
// shallow before the job is the human's: left alone.
// Inputs: the common dir, the worker's name. Outputs: where the file went, or why not.

import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { readCapped } from '../files/read-capped.js';
import { git } from '../git/runner.js';

export type ShallowUndone = { kind: 'moved'; to: string } | { kind: 'left'; path: string; missing: string } | null;

/** Whether the repository is shallow now (true before a job: its shallow file is the human's). */
export function shallowBefore(commonDir: string): boolean {
  return existsSync(join(commonDir, 'shallow'));
}

/** After the job: the shallow file it made, moved aside when every commit it names has its parents here. */
export async function undoShallowFetch(worktree: string, commonDir: string, stateDir: string, worker: string, wasShallow: boolean, stamp: string): Promise<ShallowUndone> {
  const path = join(commonDir, 'shallow');
  if (wasShallow || !existsSync(path)) return null;
  const read = await readCapped(path, 16 * 1024 * 1024);
  const ids = read.kind === 'read' ? read.text.split('\n').filter((l) => /^[0-9a-f]{40,64}$/.test(l)) : [];
  for (const id of ids) {
    // the raw object keeps its parent lines even while the shallow file hides them
    const raw = await git(worktree, ['cat-file', 'commit', id]);
    const parents = raw.ok ? [...raw.stdout.split('\n\n')[0]!.matchAll(/^parent ([0-9a-f]+)$/gm)].map((m) => m[1]!) : [];
    for (const p of parents) if (!(await git(worktree, ['cat-file', '-e', `${p}^{commit}`])).ok) return { kind: 'left', path, missing: p };
  }
  const dir = join(stateDir, 'set-aside');
  mkdirSync(dir, { recursive: true });
  const to = join(dir, `shallow-${worker}-${stamp}`);
  renameSync(path, to);
  return { kind: 'moved', to };
}
