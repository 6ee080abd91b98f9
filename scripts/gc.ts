#!/usr/bin/env node
// gc — clean up after dead workers; its contract is the usage text below (--help).

const help = `usage: coven gc [--dry-run] [--force] [--remote NAME]

Cleans up after dead workers (state file whose process is gone): removes the worktree,
the branch and the state file when all of its commits are on main and it has no
uncommitted changes. Workers with unlanded work are kept and listed; with --force their
work is first saved under refs/coven/gc/<worker>/<time>, then they are removed. Commits
that only a removed worker's reflogs reach (an agent reset them away and the worker died
before saving them) are kept under refs/coven/reflog/<worker>/<time>. Also clears locks
held by dead processes. Never touches worktrees coven did not create.
  --dry-run   show what would happen, change nothing
  --force     save unlanded work under refs/coven/gc/… and remove those workers too
  --remote NAME  also clean up on that remote: its claims released (landed, given up)
              and its worker state refs (refs/coven/workers/…) unchanged for a day
Claims released (landed, given up) or damaged that this clone has seen unchanged for a
day are deleted (refs/coven/claims/…, each by compare-and-swap: one taken again meanwhile
stays). Ages are this clone's own observations (<state dir>/claims-seen.json): a claim
first seen now is deleted a day later at the earliest.
Only touches what coven made: a worker named in a state file whose process is dead,
whose branch is under coven/, and whose worktree is the one its state file records.
Never the main worktree, a live worker, or a worktree someone else made for the branch.
A dead worker's agent session still running is ended first. A dead worker's worktree
whose link to the repository its agent changed (its .git file, its git dir's gitdir or
commondir) is put back first (not with --dry-run), and said; gc's git commands there
always use that worktree's own git dir. What a dead worker's agent changed in the git
setup (shared config, ~/.gitconfig, hooks) during a session cut short is undone, and
said, as the next worker of that name would (not with --dry-run).

writes: refs/coven/gc/<worker>/<time> (--force: one commit, the uncommitted changes on
        top of HEAD, with the branch tip as second parent when they differ; printed)
        refs/coven/reflog/<worker>/<time> (commits only a removed worktree's reflogs reach)
        the git setup as it was before a dead worker's session (config entries, hooks:
        a changed hook goes to <state dir>/quarantine/)
removes: <state dir>/workers/<name>.json, steps/<name>/, dead holders' <state dir>/locks/*,
        <state dir>/git-setup/<name>.json, old released claims (refs/coven/claims/…);
        with --remote: the same on the remote, and refs/coven/workers/… unchanged for a day
env:  COVEN_MACHINE (--remote: this machine's name; must be a valid one when set, see
        docs/remote.md), COVEN_REMOTE_TIMEOUT_MS (--remote: how long a fetch or push may
        take, default 60 s)
exit: 0 done · 2 not in a git work tree · 3 some workers kept (unlanded work)
      6 --remote: the remote did not answer (all the rest is done; what was not deleted
        there stays: run coven gc --remote NAME again later; wins over 3)
      64 bad usage (also --remote naming no remote of this clone, or a bad COVEN_MACHINE:
        nothing was changed) · 1 error
`;

import { parseCommandLine } from './lib/ui/command-line.js';
import { existsSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { findRepo, git, gitOut, listWorktrees, revParse, dirtyFiles, type RepoPaths, type WorktreeEntry } from './lib/git/runner.js';
import { localUpstreamOf, mainBranchOf } from './lib/git/main-branch.js';
import { clearStaleLocks, locksDirOf } from './lib/locks/dispatch-lock.js';
import { runAsEntry } from './lib/ui/entry.js';
import { exitWithProblem, formatProblem, shellQuote } from './lib/ui/problem.js';
import { endOrphanedSession } from './lib/session/orphan.js';
import { covenRef, keepAt, snapshotCommit } from './lib/worktree/save-work.js';
import { describeRepair, reclaimIdentity } from './lib/worktree/identity.js';
import { reflogOnlyTips } from './lib/git/reflog-only.js';
import { setAsideNestedRepos } from './lib/worktree/settle.js';
import { branchBeingRebased, rebaseInProgress } from './lib/git/operation.js';
import { readWorkerStates, removeWorkerState, type WorkerState } from './lib/worker/state.js';
import { removeStepFiles } from './lib/worker/step-files.js';
import { samePath } from './lib/files/same-path.js';
import { undoLeftBySession } from './lib/git/setup-guard.js';
import { gcClaims } from './lib/claims/gc-claims.js';
import { fixOfRemoteProblem, resolveRemote } from './lib/remote/target.js';
import type { Unreachable } from './lib/remote/git-remote.js';

export type GcAction =
  /**
   * removed (or, with dryRun, would be removed); `saved` is the ref holding its work (--force);
   * `reflog`: the refs that now keep commits only its reflogs reached (with dryRun: those commits' tips)
   */
  | { kind: 'removed'; worker: string; branch: string; worktree: string | null; saved: string | null; reflog: string[]; nested?: Array<{ path: string; to: string }> }
  /** not removed: it has work that is not on main */
  | { kind: 'kept'; worker: string; branch: string; worktree: string | null; unlanded: number; dirty: string[]; note?: string }
  /** not coven's to touch, or not safe to judge */
  | { kind: 'skipped'; worker: string; reason: string };

export interface GcReport {
  dryRun: boolean;
  actions: GcAction[];
  /** cleared (or, with dryRun, would be); with `fix`: left alone, the command for a human */
  locks: Array<{ path: string; reason: string; fix?: string }>;
  corrupt: Array<{ file: string; reason: string }>;
  alive: string[];
  /** a dead worker's worktree whose link to the repository its agent changed: what was found and put back */
  links: string[];
  /** what a dead worker's agent changed in the git setup during the session cut short, now undone */
  setup: string[];
  /** claims released (or damaged) long ago, deleted (lib/claims/gc-claims.ts): one line each */
  claims?: string[];
  /** --remote: the remote did not answer; what was not done there stays */
  remoteDown?: Unreachable;
}

export async function gc(paths: RepoPaths, opts: { dryRun?: boolean; force?: boolean; now?: Date; remote?: string; clock?: () => number } = {}): Promise<GcReport> {
  const dryRun = opts.dryRun ?? false;
  const entries = await readWorkerStates(paths.stateDir);
  const report: GcReport = { dryRun, actions: [], locks: [], corrupt: [], alive: [], links: [], setup: [] };
  // a dead worker's file that names a live worker's branch or worktree (copied, or forged
  // by an agent: the state folder is reachable from every worktree) is never acted on
  const live = entries.flatMap((e) => (e.kind === 'worker' && e.liveness === 'alive' ? [e.state] : []));
  const claimedBy = (s: WorkerState): WorkerState | undefined => live.find((l) => l.branch === s.branch || samePath(l.worktree, s.worktree));
  const dead = entries.flatMap((e) => (e.kind === 'worker' && e.liveness === 'dead' && !claimedBy(e.state) ? [e.state] : []));
  // first, as the worktree list depends on it: each dead worker's worktree is the one coven made
  for (const s of dead) report.links.push(...(await keepLink(paths, s, dryRun)));
  // a worker killed mid-session and never started again: what its agent changed in the shared git setup (lib/git/setup-guard)
  if (!dryRun) for (const s of dead) await undoLeftBySession({ stateDir: paths.stateDir, worker: s.name }, (text) => report.setup.push(text));
  const worktrees = await listWorktrees(paths.mainWorktree);
  for (const e of entries) {
    if (e.kind === 'corrupt') report.corrupt.push({ file: e.file, reason: e.reason });
    else if (e.liveness === 'alive') report.alive.push(e.state.name);
    else if (claimedBy(e.state)) report.actions.push(claimed(e.state, claimedBy(e.state)!, e.file));
    else report.actions.push(await collectWorker(paths, worktrees, e.state, { dryRun, force: opts.force ?? false, now: opts.now ?? new Date() }));
  }
  report.locks = await clearStaleLocks(locksDirOf(paths.stateDir), { dryRun });
  const onUnreachable = (u: Unreachable): void => void (report.remoteDown = u);
  report.claims = await gcClaims(paths, await mainBranchOfName(paths), { dryRun, onUnreachable, ...(opts.remote !== undefined ? { remote: opts.remote } : {}), ...(opts.clock ? { now: opts.clock } : {}) });
  return report;
}

function claimed(s: WorkerState, owner: WorkerState, file: string): GcAction {
  const what = owner.branch === s.branch ? `branch ${s.branch}` : `worktree ${s.worktree}`;
  return { kind: 'skipped', worker: s.name, reason: `its ${what} is the live worker ${owner.name}'s (this state file is a copy, or was written by someone else); nothing was touched. Once you know it is not needed: rm ${shellQuote(file)}` };
}

async function collectWorker(
  paths: RepoPaths,
  worktrees: WorktreeEntry[],
  s: WorkerState,
  opts: { dryRun: boolean; force: boolean; now: Date },
): Promise<GcAction> {
  if (!s.branch.startsWith('coven/')) return { kind: 'skipped', worker: s.name, reason: `its branch ${s.branch} is not under coven/` };
  const wt = await findWorktree(worktrees, s);
  if (wt.kind === 'foreign') return { kind: 'skipped', worker: s.name, reason: wt.reason };
  // an agent session the worker left running would go on committing in the worktree we judge
  if (s.session_process && !opts.dryRun) await endOrphanedSession({ host: s.host, ...s.session_process });
  const worktree = wt.kind === 'found' ? wt.path : null;
  const tip = await revParse(paths.mainWorktree, `refs/heads/${s.branch}`);
  const head = worktree && existsSync(worktree) ? await revParse(worktree, 'HEAD') : null;
  const main = (await localUpstreamOf(paths.mainWorktree, s.branch)) ?? (await mainBranchOfName(paths));
  const tips = [tip, head].filter((x): x is string => x !== null);
  let unlanded = 0;
  if (tips.length > 0) {
    if (!main || !(await revParse(paths.mainWorktree, `refs/heads/${main}`))) {
      return { kind: 'kept', worker: s.name, branch: s.branch, worktree, unlanded: -1, dirty: [], note: 'cannot tell which branch is main' };
    }
    unlanded = Number(await gitOut(paths.mainWorktree, ['rev-list', '--count', ...tips, '--not', `refs/heads/${main}`]));
  }
  // a worker killed during its `git worktree add` leaves the worktree locked as "initializing",
  // half checked out: its "changes" are files git had not written yet, nobody's work
  const unfinished = wt.kind === 'found' && wt.unfinished;
  const dirty = worktree && existsSync(worktree) && !unfinished ? await dirtyFiles(worktree) : [];
  const rebasing = worktree !== null && wt.kind === 'found' && wt.rebasing;
  const clean = unlanded === 0 && dirty.length === 0 && !rebasing;
  if (!clean && !opts.force) {
    return { kind: 'kept', worker: s.name, branch: s.branch, worktree, unlanded, dirty, ...(rebasing ? { note: 'a rebase is in progress' } : {}) };
  }
  let saved: string | null = null;
  let nested: Array<{ path: string; to: string }> = [];
  if (!clean) {
    saved = covenRef('gc', s.name, opts.now);
    if (!opts.dryRun) {
      // git cannot save a nested repository, and removing the worktree would delete it
      if (worktree && existsSync(worktree)) nested = await setAsideNestedRepos(worktree, paths.stateDir, s.name);
      const commit = await saveWork(paths, s, worktree && existsSync(worktree) ? worktree : null, head, tip, dirty.length > 0);
      saved = await keepAt(paths.mainWorktree, saved, commit, 'coven gc: save work before removal');
    }
  }
  // commits an agent reset away while the worker was dying live only in the reflogs removed below
  const reflogTips = await reflogOnlyTips(paths.mainWorktree, worktree && existsSync(worktree) ? worktree : null, s.branch);
  const reflog: string[] = [];
  for (const tip of reflogTips) {
    reflog.push(opts.dryRun ? tip : await keepAt(paths.mainWorktree, covenRef('reflog', s.name, opts.now), tip, 'coven gc: commits only the removed worker\'s reflog reached'));
  }
  if (!opts.dryRun) {
    if (worktree && existsSync(worktree)) {
      const force = unfinished ? ['--force', '--force'] : clean ? [] : ['--force']; // twice: past git's "initializing" lock
      const r = await git(paths.mainWorktree, ['worktree', 'remove', ...force, worktree]);
      if (!r.ok) return { kind: 'kept', worker: s.name, branch: s.branch, worktree, unlanded, dirty, note: `git worktree remove failed: ${r.stderr.trim()}` };
    } else if (worktree) {
      await git(paths.mainWorktree, ['worktree', 'prune']);
    }
    if (tip) await gitOut(paths.mainWorktree, ['branch', '-D', '--', s.branch]);
    await removeWorkerState(paths.stateDir, s.name);
    await removeStepFiles(paths.stateDir, s.name);
  }
  return { kind: 'removed', worker: s.name, branch: s.branch, worktree, saved, reflog, ...(nested.length > 0 ? { nested } : {}) };
}

/**
 * Finds the git dir of a dead worker's worktree, pins it (gc's git commands there use it,
 * whatever its `.git` file says) and puts back what its agent changed (identity.ts).
 */
async function keepLink(paths: RepoPaths, s: WorkerState, dryRun: boolean): Promise<string[]> {
  if (!s.branch.startsWith('coven/') || !existsSync(s.worktree)) return [];
  const found = await reclaimIdentity(paths.commonDir, s.worktree, s.git_dir, dryRun);
  if (!found || found.repair.kind === 'ok' || found.repair.kind === 'worktree-gone') return [];
  if (found.repair.kind === 'moved') return [`${s.name}: its worktree was moved from ${s.worktree} to ${found.repair.to} (git worktree move); left where it is`];
  if (found.repair.kind === 'git-dir-gone') return [`${s.name}: the git dir of ${s.worktree} is gone; the folder is left as it is`];
  return [`${s.name}: ${describeRepair(s.worktree, found.repair).replace(/^coven: /, '')}`];
}

async function mainBranchOfName(paths: RepoPaths): Promise<string | null> {
  const m = await mainBranchOf(paths);
  return m.kind === 'branch' ? m.name : null;
}

type FoundWorktree = { kind: 'found'; path: string; rebasing: boolean; unfinished: boolean } | { kind: 'none' } | { kind: 'foreign'; reason: string };

/**
 * The worker's worktree: the one its state file records, and only if git lists it with
 * the worker's branch (or mid-rebase of it). The branch checked out anywhere else (a
 * worktree the user made for it after the worker's was deleted) is not coven's.
 */
async function findWorktree(worktrees: WorktreeEntry[], s: WorkerState): Promise<FoundWorktree> {
  const ref = `refs/heads/${s.branch}`;
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  const byBranch = worktrees.findIndex((w) => w.branch === ref);
  if (byBranch === 0) return { kind: 'foreign', reason: `its branch ${s.branch} is checked out in the main worktree` };
  if (byBranch > 0) {
    const w = worktrees[byBranch]!;
    if (real(w.path) !== real(s.worktree)) {
      return {
        kind: 'foreign',
        reason: `its branch ${s.branch} is checked out in ${w.path}, not in the worktree coven made for it (${s.worktree}); nothing was touched. If that worktree is yours, put its work on a branch of your own (git -C ${shellQuote(w.path)} switch -c <name>), then run coven gc again`,
      };
    }
    return { kind: 'found', path: w.path, rebasing: rebaseInProgress(w.path), unfinished: w.lockReason === 'initializing' };
  }
  // detached: a rebase of the branch stopped on a conflict
  const i = worktrees.findIndex((w) => real(w.path) === real(s.worktree));
  if (i < 0) return { kind: 'none' };
  if (i === 0) return { kind: 'foreign', reason: 'its state file names the main worktree' };
  const w = worktrees[i]!;
  // its `git worktree add` was killed before it checked the branch out
  if (w.lockReason === 'initializing') return { kind: 'found', path: w.path, rebasing: false, unfinished: true };
  if (w.branch !== null) return { kind: 'foreign', reason: `${w.path} has ${w.branch} checked out, not ${s.branch}` };
  const rebased = branchBeingRebased(w.path);
  if (rebased !== ref) return { kind: 'foreign', reason: `${w.path} is detached and not rebasing ${s.branch}` };
  return { kind: 'found', path: w.path, rebasing: true, unfinished: false };
}

/**
 * One commit that keeps everything of the worker reachable, without touching its
 * branch, index or files: the worktree's files (tracked and untracked, not ignored)
 * as a tree on top of HEAD, with the branch tip as a second parent when HEAD differs.
 */
async function saveWork(paths: RepoPaths, s: WorkerState, worktree: string | null, head: string | null, tip: string | null, dirty: boolean): Promise<string> {
  const base = head ?? tip;
  if (!base) throw new Error(`nothing to save for ${s.name}: no HEAD and no branch`);
  const message = `coven gc: work of worker ${s.name} (${s.branch}) saved before removal\n\nuncommitted changes: ${dirty ? 'yes (this commit)' : 'none'}\nbranch tip: ${tip ?? '(none)'}\n`;
  const snap = await snapshotCommit({ repo: paths.mainWorktree, worktree: dirty ? worktree : null, base, extraParents: tip ? [tip] : [], message });
  return snap.commit;
}

export function renderGc(r: GcReport): string {
  const would = r.dryRun ? 'would remove' : 'removed';
  const lines: string[] = [...r.links, ...r.setup, ...(r.claims ?? [])];
  for (const a of r.actions) {
    if (a.kind === 'removed') {
      lines.push(`${a.worker}: ${would} ${a.worktree ? `worktree ${a.worktree}, ` : ''}branch ${a.branch} and its state file`);
      if (a.saved) lines.push(`  its work ${r.dryRun ? 'would be' : 'is'} saved at ${a.saved}  (git log ${a.saved})`);
      if (a.reflog.length > 0 && r.dryRun) lines.push(`  commits only its reflog reaches (reset away, not on main) would be kept under refs/coven/reflog/${a.worker}/: ${a.reflog.map((c) => c.slice(0, 10)).join(', ')}`);
      for (const n of a.nested ?? []) lines.push(`  a nested git repository at ${n.path} (git cannot save one) is moved to ${n.to}`);
      for (const ref of r.dryRun ? [] : a.reflog) lines.push(`  commits only its reflog reached (reset away, not on main) are kept at ${ref}  (git log ${ref} --not main)`);
    } else if (a.kind === 'kept') {
      const what = [a.unlanded > 0 ? `${a.unlanded} commit${a.unlanded === 1 ? '' : 's'} not on main` : '', a.dirty.length > 0 ? `uncommitted changes to ${a.dirty.join(', ')}` : '', a.note ?? '']
        .filter(Boolean)
        .join('; ');
      lines.push(`${a.worker}: kept — ${what}`);
      const wt = a.worktree ? shellQuote(a.worktree) : null;
      const land = !wt
        ? `merge or rebase its branch yourself: git log ${shellQuote(a.branch)} --not <main branch>`
        : a.dirty.length > 0
          ? `commit the changes in ${wt}, then land: coven land --worktree ${wt}`
          : `land it: coven land --worktree ${wt}`;
      lines.push(`  Nothing was removed. To keep the work, ${land}`);
      lines.push(`  or save all of it under refs/coven/gc/ and remove the worker: coven gc --force`);
    } else {
      lines.push(`${a.worker}: left alone — ${a.reason}`);
    }
  }
  for (const l of r.locks) {
    if (l.fix) lines.push(`lock ${l.path}: left alone (${l.reason}); no worker can take the lock until it is moved away: ${l.fix}`);
    else lines.push(`lock ${l.path}: ${r.dryRun ? 'would clear' : 'cleared'} (${l.reason})`);
  }
  for (const c of r.corrupt) {
    const name = basename(c.file).replace(/\.json$/, '');
    lines.push(`corrupt state file ${c.file}: ${c.reason}`);
    lines.push(`  Left alone: a running worker ${name} would write it again at its next step. If no worker ${name} is running: rm ${shellQuote(c.file)}`);
  }
  if (r.alive.length > 0) lines.push(`running (not touched): ${r.alive.join(', ')}`);
  if (lines.length === 0) lines.push('nothing to clean up');
  return lines.join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine(argv, { command: 'coven gc', usage: help, boolean: ['dry-run', 'force'], string: ['remote'], alias: { n: 'dry-run' } });
  if (cl.kind === 'exit') return cl.code;
  const args = cl.args;
  const repo = await findRepo(process.cwd());
  if (repo.kind !== 'repo') {
    process.stderr.write(formatProblem({ what: `${process.cwd()} is not inside a git work tree.`, next: ['cd <your repository> && coven gc'] }) + '\n');
    return 2;
  }
  const remote = typeof args.remote === 'string' ? args.remote : undefined;
  if (remote !== undefined) {
    // a bad --remote is a usage error, found before anything is touched (as coven land does)
    const found = await resolveRemote(repo.paths.mainWorktree, (await mainBranchOfName(repo.paths)) ?? 'main', remote);
    if (found.kind === 'problem') return exitWithProblem(64, { what: found.message, kept: 'Nothing was changed, here or on a remote.', next: fixOfRemoteProblem(found) });
  }
  const report = await gc(repo.paths, { dryRun: args['dry-run'] === true, force: args.force === true, ...(remote !== undefined ? { remote } : {}) });
  process.stdout.write(renderGc(report));
  if (report.remoteDown) {
    const u = report.remoteDown;
    return exitWithProblem(6, {
      what: `the remote ${u.remote} did not answer (${u.message}).`,
      kept: 'What gc did on this clone (and on the remote before it stopped answering) is listed above. Nothing else was deleted on the remote: its old claims and worker state refs stay.',
      next: [`coven gc --remote ${shellQuote(u.remote)}    # again, once the remote answers`],
    });
  }
  return report.actions.some((a) => a.kind === 'kept') ? 3 : 0;
}

runAsEntry(import.meta.url, main);
