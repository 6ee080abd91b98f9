// inspect — read a worker worktree in one round of git commands and decide where it
// lands (its upstream, --onto, or the branch of the main worktree); refuse what cannot be
// landed. Part of the land (lib/land/land.ts).
//
//   git rev-parse --show-toplevel --git-dir --git-common-dir  ∥  git for-each-ref refs/heads/
//   ∥  git worktree list --porcelain      (the operation in progress is read from files)

import { recordedMainBranch } from '../worker/wake.js';
import { lstatSync } from 'node:fs';
import { resolve } from 'node:path';
import { git, listWorktrees, parseWorktreeList, type WorktreeEntry } from '../git/runner.js';
import { branchInOperation, operationInProgress, type GitOperation } from '../git/operation.js';

/** Why a worktree cannot be landed at all (nothing was read beyond the refs). */
export type Refusal =
  | { kind: 'not-a-worktree'; dir: string; reason: 'missing' | 'not-a-repo' | 'bare' }
  | { kind: 'main-worktree'; dir: string }
  | { kind: 'detached'; worktree: string }
  | { kind: 'in-progress'; worktree: string; branch: string | null; operation: GitOperation }
  | { kind: 'no-target'; worktree: string; branch: string; wanted: string | null }
  | { kind: 'same-branch'; worktree: string; branch: string }
  | { kind: 'failed'; worktree: string; branch: string | null; step: string; message: string };

export interface WorktreeInfo {
  /** top of the worker's worktree */
  worktree: string;
  gitDir: string;
  commonDir: string;
  /** `<commonDir>/coven` */
  stateDir: string;
  /** short name of the worktree's branch */
  branch: string;
  head: string;
  /** short name of the branch to land on, and its tip when read */
  onto: string;
  ontoTip: string;
  /** commits on the branch not on `onto` when `onto` is its upstream (one git call less), else null */
  ahead: number | null;
  /** commits on `onto` not on the branch, likewise */
  behind: number | null;
  /** `onto` is the branch's upstream: only then is a rewind of `onto` read from its reflog */
  ontoIsUpstream: boolean;
  /** `git worktree list`, as read */
  worktrees: WorktreeEntry[];
}

interface BranchRef {
  current: boolean;
  name: string;
  tip: string;
  upstream: string;
  /** `ahead 1, behind 2`, `ahead 1`, `behind 2`, `` or `gone` */
  track: string;
}

/** Reads a worker worktree and decides where it lands; refuses what cannot be landed. */
export async function inspectWorktree(dir: string, onto?: string): Promise<{ kind: 'ready'; info: WorktreeInfo } | Refusal> {
  const abs = resolve(dir);
  if (!isDirectory(abs)) return { kind: 'not-a-worktree', dir: abs, reason: 'missing' };
  // one round of git calls, side by side: start-up time matters for a command run this often
  const [top, refs, list] = await Promise.all([
    git(abs, ['rev-parse', '--is-bare-repository', '--path-format=absolute', '--show-toplevel', '--git-dir', '--git-common-dir']),
    git(abs, ['for-each-ref', '--format=%(HEAD)%00%(refname)%00%(objectname)%00%(upstream)%00%(upstream:track,nobracket)', 'refs/heads/']),
    git(abs, ['worktree', 'list', '--porcelain']),
  ]);
  const [isBare, worktree, gitDir, commonDir] = top.stdout.split('\n');
  if (!top.ok || isBare !== 'false' || !worktree || !gitDir || !commonDir) {
    const bare = await git(abs, ['rev-parse', '--is-bare-repository']);
    return { kind: 'not-a-worktree', dir: abs, reason: bare.ok && bare.stdout.trim() === 'true' ? 'bare' : 'not-a-repo' };
  }
  if (resolve(gitDir) === resolve(commonDir)) return { kind: 'main-worktree', dir: worktree };

  const branches = parseBranchRefs(refs.stdout);
  const current = branches.find((b) => b.current);
  const operation = operationInProgress(gitDir);
  if (operation) {
    const inOp = branchInOperation(gitDir);
    return { kind: 'in-progress', worktree, operation, branch: inOp ? shortBranch(inOp) : current?.name ?? null };
  }
  if (!current) {
    const unborn = await git(abs, ['symbolic-ref', '-q', 'HEAD']);
    if (unborn.ok) return { kind: 'failed', worktree, branch: shortBranch(unborn.stdout.trim()), step: 'read HEAD', message: 'the branch has no commits yet' };
    return { kind: 'detached', worktree };
  }

  // (a failed list, e.g. while another worker runs `git worktree add`, is retried)
  const worktrees = list.ok ? parseWorktreeList(list.stdout) : await listWorktrees(abs);
  const upstream = current.upstream.startsWith('refs/heads/') ? shortBranch(current.upstream) : null;
  let target = onto ? shortBranch(onto) : upstream;
  const stateDir = resolve(commonDir, 'coven');
  if (!target) {
    // the main branch coven recorded, if it exists; else what the main worktree has checked
    // out (mainBranchOf's rule, on the branches already listed: no git call)
    const recorded = await recordedMainBranch(stateDir);
    const main = worktrees[0];
    target = recorded && branches.some((b) => b.name === recorded) ? recorded : main?.branch?.startsWith('refs/heads/') ? shortBranch(main.branch) : null;
    if (!target) return { kind: 'no-target', worktree, branch: current.name, wanted: null };
  }
  if (target === current.name) return { kind: 'same-branch', worktree, branch: current.name };
  const targetRef = branches.find((b) => b.name === target);
  if (!targetRef) return { kind: 'no-target', worktree, branch: current.name, wanted: target };
  return {
    kind: 'ready',
    info: {
      worktree,
      gitDir,
      commonDir,
      stateDir,
      branch: current.name,
      head: current.tip,
      onto: target,
      ontoTip: targetRef.tip,
      ahead: target === upstream ? aheadOf(current.track) : null,
      behind: target === upstream ? behindOf(current.track) : null,
      ontoIsUpstream: target === upstream,
      worktrees,
    },
  };
}

function parseBranchRefs(out: string): BranchRef[] {
  const refs: BranchRef[] = [];
  for (const line of out.split('\n')) {
    const [head, ref, tip, upstream, track] = line.split('\0');
    if (!ref || !tip) continue;
    refs.push({ current: head === '*', name: shortBranch(ref), tip, upstream: upstream ?? '', track: track ?? '' });
  }
  return refs;
}

/** Commits ahead of the upstream from `%(upstream:track,nobracket)`; null when it cannot tell. */
export function aheadOf(track: string): number | null {
  if (track === 'gone') return null;
  const m = /ahead (\d+)/.exec(track);
  return m ? Number(m[1]) : 0;
}

/** Commits behind the upstream, likewise. */
export function behindOf(track: string): number | null {
  if (track === 'gone') return null;
  const m = /behind (\d+)/.exec(track);
  return m ? Number(m[1]) : 0;
}

/** `refs/heads/x` → `x` (anything else as it is). */
export function shortBranch(ref: string): string {
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}
