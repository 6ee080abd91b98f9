// save-work — keep a worktree's uncommitted changes (staged, unstaged and untracked,
// not ignored) as a commit under refs/coven/…, without touching the branch, the
// index or the files. Used before anything that would clean a worktree.
//
// Inputs: a worktree, the ref to write. Outputs: the saved commit id, or `clean`.

import { lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git, gitBytes, gitOut } from '../git/runner.js';

export type SaveResult = { kind: 'saved'; ref: string; commit: string; files: string[] } | { kind: 'clean' };

export interface Snapshot {
  /** the commit that holds everything; `base` itself when there was nothing to add */
  commit: string;
  /** paths whose content differs from `base` */
  files: string[];
}

/**
 * A commit with the worktree's files (tracked and untracked, not ignored) as its tree,
 * `base` as first parent and `extraParents` after it. Touches no branch, index or file.
 * Without a worktree (it is gone) the tree is `base`'s.
 */
export async function snapshotCommit(o: { repo: string; worktree: string | null; base: string; extraParents?: string[]; message: string }): Promise<Snapshot> {
  const parents = [o.base, ...(o.extraParents ?? []).filter((p) => p !== o.base)];
  const baseTree = await gitOut(o.repo, ['rev-parse', `${o.base}^{tree}`]);
  let tree = baseTree;
  if (o.worktree) {
    const tmp = mkdtempSync(join(tmpdir(), 'coven-save-'));
    const env = { GIT_INDEX_FILE: join(tmp, 'index') };
    try {
      await gitOut(o.worktree, ['read-tree', o.base], env);
      await gitOut(o.worktree, ['add', '-A', '--', '.'], env);
      // a new file staged with `git add -f` despite .gitignore: `add -A` skips it, and a
      // `reset --hard` would delete it, so it is taken too
      // (as bytes: a name that is not UTF-8 goes back to git exactly as git wrote it)
      const staged = await stagedNewFiles(o.worktree, o.base);
      if (staged.length > 0) {
        const list = join(tmp, 'staged');
        writeFileSync(list, Buffer.concat(staged.flatMap((p) => [p, Buffer.from([0])])));
        await gitOut(o.worktree, ['--literal-pathspecs', 'add', '-f', `--pathspec-from-file=${list}`, '--pathspec-file-nul'], env);
      }
      tree = await gitOut(o.worktree, ['write-tree'], env);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  if (tree === baseTree && parents.length === 1) return { commit: o.base, files: [] };
  const files = tree === baseTree ? [] : (await gitOut(o.repo, ['diff-tree', '-r', '--name-only', '--no-commit-id', baseTree, tree])).split('\n').filter(Boolean);
  const commit = await gitOut(o.repo, ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p]), '-m', o.message]);
  return { commit, files };
}

/** Files new in the worktree's own index against `base` that are still on disk, as git names them (bytes). */
async function stagedNewFiles(worktree: string, base: string): Promise<Buffer[]> {
  const r = await gitBytes(worktree, ['diff', '--cached', '--name-only', '-z', '--no-renames', '--diff-filter=A', base]);
  if (!r.ok) throw new Error(`git diff --cached (in ${worktree}) failed: ${r.stderr.trim()}`);
  const names: Buffer[] = [];
  for (let at = 0; at < r.stdout.length; ) {
    const end = r.stdout.indexOf(0, at);
    const name = r.stdout.subarray(at, end < 0 ? r.stdout.length : end);
    if (name.length > 0 && onDisk(Buffer.concat([Buffer.from(`${worktree}/`), name]))) names.push(name);
    at = end < 0 ? r.stdout.length : end + 1;
  }
  return names;
}

function onDisk(path: string | Buffer): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Snapshots the worktree's uncommitted changes onto a commit whose parent is HEAD and points `ref` at it. */
export async function saveUncommittedWork(worktree: string, ref: string, message: string): Promise<SaveResult> {
  const head = await gitOut(worktree, ['rev-parse', 'HEAD']);
  const snap = await snapshotCommit({ repo: worktree, worktree, base: head, message });
  if (snap.commit === head) return { kind: 'clean' };
  const kept = await keepAt(worktree, ref, snap.commit, 'coven: save uncommitted work');
  return { kind: 'saved', ref: kept, commit: snap.commit, files: snap.files };
}

/** The UTC time as coven names what it keeps (`20261206T164801Z`): in refs, branch and folder names. */
export function covenStamp(at = new Date()): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** A ref name under refs/coven/<kind>/<worker>/<UTC time> that git accepts. */
export function covenRef(kind: string, worker: string, at = new Date()): string {
  return `refs/coven/${kind}/${worker}/${covenStamp(at)}`;
}

/**
 * Points a new ref at `commit`: `ref` itself, or `ref-2`, `ref-3`, … when a save in
 * the same second already took that name (never overwrites an earlier save).
 * Returns the ref written.
 */
export async function keepAt(repo: string, ref: string, commit: string, reason: string): Promise<string> {
  for (let n = 1; ; n++) {
    const name = n === 1 ? ref : `${ref}-${n}`;
    // the empty old value makes git refuse to overwrite an existing ref
    const r = await git(repo, ['update-ref', '-m', reason, name, commit, '']);
    if (r.ok) return name;
    const exists = await git(repo, ['rev-parse', '--verify', '--quiet', name]);
    if (!exists.ok || n >= 100) throw new Error(`cannot write ${name}: ${r.stderr.trim()}`);
  }
}

/** Makes the worktree match HEAD again. Call only after its changes were saved. */
export async function discardSavedChanges(worktree: string, saved: SaveResult): Promise<void> {
  if (saved.kind !== 'saved') return;
  const still = await git(worktree, ['cat-file', '-e', `${saved.ref}^{commit}`]);
  if (!still.ok) throw new Error(`refusing to clean ${worktree}: ${saved.ref} is missing`);
  // clean first, while the worktree's .gitignore is still the one the save read: after the
  // reset, a file ignored only by an uncommitted .gitignore edit (so not saved) would be
  // cleaned as untracked. Such a file stays, for the next save.
  await gitOut(worktree, ['clean', '-q', '-f', '-d']);
  await gitOut(worktree, ['reset', '-q', '--hard', 'HEAD']);
}
