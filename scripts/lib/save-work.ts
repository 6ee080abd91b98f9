// save-work — keep a worktree's uncommitted changes (staged, unstaged and untracked,
// not ignored) as a commit under refs/coven/…, without touching the branch, the
// index or the files. Used before anything that would clean a worktree.
//
// Inputs: a worktree, the ref to write. Outputs: the saved commit id, or `clean`.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git, gitOut } from './git.js';

export type SaveResult = { kind: 'saved'; ref: string; commit: string; files: string[] } | { kind: 'clean' };

/** Snapshots the worktree's changes onto a commit whose parent is HEAD and points `ref` at it. */
export async function saveUncommittedWork(worktree: string, ref: string, message: string): Promise<SaveResult> {
  const tmp = mkdtempSync(join(tmpdir(), 'coven-save-'));
  const env = { GIT_INDEX_FILE: join(tmp, 'index') };
  try {
    const head = await gitOut(worktree, ['rev-parse', 'HEAD']);
    await gitOut(worktree, ['read-tree', 'HEAD'], env);
    await gitOut(worktree, ['add', '-A', '--', '.'], env);
    const tree = await gitOut(worktree, ['write-tree'], env);
    const headTree = await gitOut(worktree, ['rev-parse', 'HEAD^{tree}']);
    if (tree === headTree) return { kind: 'clean' };
    const files = (await gitOut(worktree, ['diff-tree', '-r', '--name-only', '--no-commit-id', headTree, tree])).split('\n').filter(Boolean);
    const commit = await gitOut(worktree, ['commit-tree', tree, '-p', head, '-m', message]);
    await gitOut(worktree, ['update-ref', '-m', 'coven: save uncommitted work', ref, commit]);
    return { kind: 'saved', ref, commit, files };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** A ref name under refs/coven/<kind>/<worker>/<UTC time> that git accepts. */
export function covenRef(kind: string, worker: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `refs/coven/${kind}/${worker}/${stamp}`;
}

/** Makes the worktree match HEAD again. Call only after its changes were saved. */
export async function discardSavedChanges(worktree: string, saved: SaveResult): Promise<void> {
  if (saved.kind !== 'saved') return;
  const still = await git(worktree, ['cat-file', '-e', `${saved.ref}^{commit}`]);
  if (!still.ok) throw new Error(`refusing to clean ${worktree}: ${saved.ref} is missing`);
  await gitOut(worktree, ['reset', '-q', '--hard', 'HEAD']);
  await gitOut(worktree, ['clean', '-q', '-f', '-d']);
}
