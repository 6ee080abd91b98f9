// job-guard — keeps what an agent's own git commands would otherwise lose.
//
// Before a session, note where the worktree's HEAD reflog ends and where the main
// branch is. Afterwards:
//   - a commit that a `git reset` in the worktree took off HEAD, and that is neither on
//     the worker's branch nor on main, is kept under refs/coven/dropped/<worker>/<time>
//     (the agent's uncommitted edits that `reset --hard` threw away cannot be kept);
//   - if the agent pointed its branch's upstream elsewhere (`git branch -u release`), it
//     is put back: the upstream is where the land goes, and that is coven's to choose;
//   - refs under refs/coven/ (work coven kept, its own or other workers') that the job
//     deleted or moved are put back: coven itself only ever adds refs there;
//   - if the main branch moved backwards during the job (a forced push or a reset of
//     main, by the agent or by anyone), its old tip is kept under
//     refs/coven/main-before/<worker>/<time>. coven does not move main back: it says so.
// Inputs: the worktree, the worker's branch and name, the branch it lands on.
// Outputs: refs under refs/coven/, and what was kept (for the worker's message).

import { git, gitOut } from '../git/runner.js';
import { localUpstreamOf } from '../git/main-branch.js';
import { covenRef, keepAt } from './save-work.js';
import { refsUnder } from '../git/refs.js';
import { CLAIM_PREFIX } from '../claims/claim.js';

export interface JobMark {
  /** entries in the worktree's HEAD reflog before the session */
  headLog: number;
  main: string;
  mainTip: string | null;
  /** refs/coven/… → commit, before the session */
  covenRefs: Map<string, string>;
}

export interface Kept {
  /** commits a reset took off HEAD: the refs that now hold them */
  dropped: string[];
  /** commits left on no ref in any other way (a branch deleted, a detached HEAD moved on): the refs that now hold them */
  unreachable?: string[];
  /** main moved backwards: where its old tip is kept, and both tips */
  rewound: { ref: string; from: string; to: string | null } | null;
  /** the agent pointed the branch's upstream elsewhere: what it had set ('' for none), now put back */
  upstream?: string | null;
  /** refs under refs/coven/ the job deleted or moved: put back, or not (their commits are gone) */
  covenRefs?: { restored: string[]; lost: string[] };
}

interface ReflogEntry {
  commit: string;
  subject: string;
}

async function headReflog(worktree: string): Promise<ReflogEntry[]> {
  const r = await git(worktree, ['reflog', 'show', '--format=%H%x00%gs', 'HEAD', '--']);
  if (!r.ok) return [];
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [commit = '', subject = ''] = l.split('\0');
      return { commit, subject };
    });
}

async function tipOf(cwd: string, branch: string): Promise<string | null> {
  const r = await git(cwd, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]);
  return r.ok ? r.stdout.trim() : null;
}

async function isAncestor(cwd: string, commit: string, of: string): Promise<boolean> {
  return (await git(cwd, ['merge-base', '--is-ancestor', commit, of])).ok;
}

export async function markJob(worktree: string, main: string): Promise<JobMark> {
  const [log, mainTip, covenRefs] = await Promise.all([headReflog(worktree), tipOf(worktree, main), refsUnder(worktree, 'refs/coven/')]);
  return { headLog: log.length, main, mainTip, covenRefs };
}

export async function keepWhatTheJobDropped(worktree: string, worker: string, branch: string, mark: JobMark): Promise<Kept> {
  const kept: Kept = { dropped: [], rewound: null, upstream: await restoreUpstream(worktree, branch, mark.main), covenRefs: await restoreCovenRefs(worktree, mark.covenRefs) };

  const log = await headReflog(worktree);
  const fresh = Math.max(0, log.length - mark.headLog);
  const before = new Set<string>();
  for (let i = 0; i < fresh; i++) {
    const previous = log[i + 1]?.commit;
    if (log[i]!.subject.startsWith('reset:') && previous && previous !== log[i]!.commit) before.add(previous);
  }
  const keepers: string[] = [];
  for (const commit of before) {
    const out = await git(worktree, ['rev-list', '--count', commit, '--not', `refs/heads/${branch}`, ...(mark.mainTip ? [`refs/heads/${mark.main}`] : []), '--']);
    if (out.ok && Number(out.stdout.trim()) > 0) keepers.push(commit);
  }
  for (const commit of keepers) kept.dropped.push(await keepAt(worktree, covenRef('dropped', worker), commit, 'coven: commits a reset took off HEAD'));

  if (mark.mainTip) {
    const now = await tipOf(worktree, mark.main);
    if (now !== mark.mainTip && (now === null || !(await isAncestor(worktree, mark.mainTip, now)))) {
      const ref = await keepAt(worktree, covenRef('main-before', worker), mark.mainTip, `coven: ${mark.main} moved backwards`);
      kept.rewound = { ref, from: mark.mainTip, to: now };
    }
  }
  return kept;
}

/** Puts the branch's upstream back on `onto` when the job changed it; returns what the job had set ('' for none), or null. */
async function restoreUpstream(worktree: string, branch: string, onto: string): Promise<string | null> {
  const now = await localUpstreamOf(worktree, branch);
  if (now === onto) return null;
  const merge = await git(worktree, ['config', '--get', `branch.${branch}.merge`]);
  await gitOut(worktree, ['branch', `--set-upstream-to=refs/heads/${onto}`, branch]);
  return now ?? merge.stdout.trim();
}

/** Puts back the refs under refs/coven/ that the job deleted or moved. */
async function restoreCovenRefs(worktree: string, before: Map<string, string>): Promise<{ restored: string[]; lost: string[] }> {
  const now = await refsUnder(worktree, 'refs/coven/');
  const out = { restored: [] as string[], lost: [] as string[] };
  for (const [ref, oid] of before) {
    // claims change under every session (other workers take, heartbeat and release them
    // by compare-and-swap): putting one back would undo another worker's claim
    if (now.get(ref) === oid || ref.startsWith(CLAIM_PREFIX)) continue;
    const r = await git(worktree, ['update-ref', '-m', 'coven: put back a ref the agent deleted or moved', ref, oid]);
    (r.ok ? out.restored : out.lost).push(ref);
  }
  return out;
}
