// ignored-paths — which of a worktree's git-ignored files and folders a new worktree
// should get. git decides what is ignored (`git ls-files --others --ignored
// --exclude-standard --directory`: an ignored folder comes back as one entry); when the
// worktree has a `.worktreeinclude` (gitignore syntax) only the ignored paths it matches
// are kept, matched by git too (`--exclude-from=.worktreeinclude`).
//
// Inputs: a worktree folder. Outputs: entries relative to it ('/'-separated, no trailing
// slash); tracked and untracked-but-not-ignored files are never among them.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gitOut } from '../git/runner.js';

export interface IgnoredEntry {
  /** relative to the worktree, '/'-separated, without a trailing slash */
  path: string;
  /** true for a folder (copied whole, with everything in it) */
  dir: boolean;
}

export const worktreeIncludeFile = '.worktreeinclude';

/** Lists the ignored entries of `worktree` to copy, honouring its `.worktreeinclude`. */
export async function listIgnoredEntries(worktree: string): Promise<{ entries: IgnoredEntry[]; includeFile: string | null }> {
  const includeFile = join(worktree, worktreeIncludeFile);
  const hasInclude = existsSync(includeFile);
  const [ignoredOut, includedOut] = await Promise.all([
    gitOut(worktree, ['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory']),
    hasInclude ? gitOut(worktree, ['ls-files', '-z', '--others', '--ignored', '--directory', `--exclude-from=${includeFile}`]) : null,
  ]);
  const ignored = keepDeepest(parseLsFilesZ(ignoredOut));
  if (includedOut === null) return { entries: ignored, includeFile: null };
  return { entries: intersectEntries(ignored, keepDeepest(parseLsFilesZ(includedOut))), includeFile };
}

/** Parses `git ls-files -z … --directory` output: folders end with '/'. */
export function parseLsFilesZ(out: string): IgnoredEntry[] {
  return out
    .split('\0')
    .filter(Boolean)
    .map((p) => (p.endsWith('/') ? { path: p.slice(0, -1), dir: true } : { path: p, dir: false }));
}

/** True when `outer` is `inner` or a folder holding it. */
export function covers(outer: IgnoredEntry, inner: IgnoredEntry): boolean {
  return outer.path === inner.path || (outer.dir && inner.path.startsWith(outer.path + '/'));
}

/**
 * Drops every folder that has other entries listed inside it. An ignored folder is
 * listed alone (git does not look inside), but git also lists an untracked folder that
 * holds only ignored files *together with* those files (`src/`, `src/gen/`,
 * `src/gen/a.log`); the folder itself is not ignored, so only the deepest entries count.
 */
export function keepDeepest(entries: IgnoredEntry[]): IgnoredEntry[] {
  const holders = new Set<string>();
  for (const e of entries) {
    for (let cut = e.path.lastIndexOf('/'); cut > 0; cut = e.path.lastIndexOf('/', cut - 1)) holders.add(e.path.slice(0, cut));
  }
  return sortEntries(entries.filter((e) => !(e.dir && holders.has(e.path))));
}

/**
 * The parts of `ignored` that `included` also names: an included path inside an ignored
 * folder, or an ignored path inside an included folder. Both lists must come from
 * keepDeepest; the result is sorted and no entry lies inside another.
 */
export function intersectEntries(ignored: IgnoredEntry[], included: IgnoredEntry[]): IgnoredEntry[] {
  const byPath = new Map<string, IgnoredEntry>();
  for (const w of included) if (ignored.some((i) => covers(i, w))) byPath.set(w.path, w);
  for (const i of ignored) if (included.some((w) => covers(w, i))) byPath.set(i.path, i);
  const all = sortEntries([...byPath.values()]);
  return all.filter((e) => !all.some((o) => o !== e && covers(o, e)));
}

function sortEntries(entries: IgnoredEntry[]): IgnoredEntry[] {
  return [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
