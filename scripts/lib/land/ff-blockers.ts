// ff-blockers — which of the user's files a fast-forward of their checkout would
// overwrite. Pure: the caller supplies what git and the filesystem said.
//
// A fast-forward from <old> to <new> rewrites every path `git diff --no-renames
// <old> <new>` names (a rename is a delete plus an add, so both sides count). It
// must not touch:
//   - a path the user changed, staged or created (`git status`), or one inside or
//     above such a path (a file where the land needs a folder, or the other way);
//   - a file already on disk, untracked or ignored, where the land adds one (git
//     silently overwrites ignored files), nor a file sitting where the land needs a
//     folder.

export interface TreeChange {
  /** A added, D deleted, M modified, T type changed (from `git diff --name-status`) */
  status: string;
  path: string;
}

export type OnDisk = 'missing' | 'dir' | 'other';

/** Parses `git diff --name-status -z --no-renames`. */
export function parseNameStatusZ(out: string): TreeChange[] {
  const parts = out.split('\0');
  const changes: TreeChange[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const status = parts[i];
    const path = parts[i + 1];
    if (status && path) changes.push({ status: status.slice(0, 1), path });
  }
  return changes;
}

/**
 * The paths that make the fast-forward unsafe, sorted.
 * @param changes  what the fast-forward changes
 * @param dirty    paths with uncommitted work in the checkout (staged, unstaged, untracked)
 * @param onDisk   what is at a path of the checkout now
 */
export function fastForwardBlockers(changes: TreeChange[], dirty: string[], onDisk: (path: string) => OnDisk): string[] {
  const blocked = new Set<string>();
  const deleted = new Set(changes.filter((c) => c.status === 'D').map((c) => c.path));
  for (const c of changes) {
    for (const d of dirty) {
      if (d === c.path || d.startsWith(`${c.path}/`) || c.path.startsWith(`${d}/`)) blocked.add(d);
    }
    if (c.status !== 'A') continue;
    if (onDisk(c.path) !== 'missing') blocked.add(c.path);
    // a file (or symlink) where the land needs a folder, unless the land itself removes it
    const segments = c.path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      if (deleted.has(parent)) break;
      const kind = onDisk(parent);
      if (kind === 'missing') break;
      if (kind === 'other') {
        blocked.add(parent);
        break;
      }
    }
  }
  return [...blocked].sort();
}
