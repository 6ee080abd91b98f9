// resolve-conflict — when landing stops on a rebase conflict, resume the agent's own
// session (same session id, same cwd) with a prompt that names the conflicted files,
// shows both sides' commits and gives the exact commands to finish; then land again.
//
// At most `rounds` failed rounds (default 3): sessions after which the rebase is still
// stuck, or was not finished (aborted: the branch is back where it was, and the land
// stops on the same conflict again). A round the agent finished (the branch now sits on
// what it was being rebased onto), whose land then met a new conflict because main
// moved past that meanwhile (other workers landing on the same files), is progress, not
// a failure; those are bounded separately (`movedRounds`, default 10), so a busy main
// does not park a worker whose agent resolves every conflict it is given. After
// `priorityAfter` (default 2) such rounds in a row the worker takes the land lock and
// holds it through the next resolution and its land: the other workers' lands wait, so
// its resolution can no longer be overtaken. If the CLI does not know the session any
// more, a fresh session gets the same instructions; if its vendor refuses, that is not
// a round (the caller tries the land again later). After the last round a rebase still
// in progress is aborted, which puts the branch back exactly as it was: every commit
// stays on the branch. Nothing is reset or discarded.
// Inputs: the worker's worktree, the conflict, the session to resume.
// Outputs: ResolveOutcome (resolved = landed, or gave-up with the branch kept).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { landWorktree, type LandOptions, type LandResult, type RemoteLand } from './land.js';
import { trackingRef } from '../remote/target.js';
import { runAgentSession, runCost, saveAndClean, sessionIdOf, type SessionSettings } from '../agents/agent-job.js';
import { commitIdentities, type CommitIdentity } from '../git/commit-identity.js';
import { dirtyFiles, git, gitOut } from '../git/runner.js';
import { branchBeingRebased, gitDirOfWorktree, rebaseInProgress } from '../git/operation.js';
import { covenRef, keepAt, snapshotCommit } from '../worktree/save-work.js';
import type { AcquiredLock } from '../locks/dispatch-lock.js';
import { acquireLandLock } from '../locks/land-lock.js';
import type { SessionOutcome } from '../session/runner.js';
import type { CliName, Refusal } from '../clis/adapter.js';
import { sessionUnknown } from '../clis/index.js';
import { conflictPrompt, leftoverMarkers, markersPrompt, type LastRound } from './resolve-prompts.js';

export { conflictPrompt, leftoverMarkers, markersPrompt, type LastRound } from './resolve-prompts.js';

export type Conflict = Extract<LandResult, { kind: 'conflict' }>;

/** Commits a resolution dropped (e.g. `git rebase --skip`): the old branch tip is kept here; `after` = how many of the `before` commits the result kept. */
export interface Backup {
  ref: string;
  before: number;
  after: number;
}

export type ResolveOutcome =
  /** `backup`: the branch as it was before, saved under refs/coven/resolve/… when the resolution dropped commits */
  | { kind: 'resolved'; land: LandResult; rounds: number; costUsd: number; sessionId: string | null; backup: Backup | null }
  /**
   * `failed` of `rounds` sessions left the rebase stuck or unfinished; the others were
   * overtaken (main moved past what they resolved). `why`: which limit was reached.
   */
  | { kind: 'gave-up'; why: 'failed' | 'overtaken'; rounds: number; failed: number; costUsd: number; sessionId: string | null; last: Conflict | LandResult; aborted: boolean; unfinished: string | null; markers: string[] }
  /** the worker is stopping (its signal); the rebase is left to the caller */
  | { kind: 'stopped'; rounds: number; costUsd: number; sessionId: string | null }
  /** the human ended the session (s in the Ctrl-C menu); the rebase is left to the caller */
  | { kind: 'skipped'; rounds: number; costUsd: number; sessionId: string | null }
  /** the CLI's vendor refused the session (quota …): not a failed round; the rebase is left to the caller */
  | { kind: 'refused'; refusal: Refusal; rounds: number; costUsd: number; sessionId: string | null };

export interface ResolveOptions extends SessionSettings {
  worktree: string;
  branch: string;
  conflict: Conflict;
  /** the agent whose session made the commits, the CLI that ran it (default claude: after a fallback, not the agent's first) and its arguments for that CLI */
  agentName: string;
  cli?: CliName;
  cliArgs: readonly string[];
  sessionId: string | null;
  /** the land after a resolution may change `.coven/` (see LandOptions.approveCoven) */
  approveCoven?: boolean;
  /** remote mode: the land after a resolution pushes, as the land that stopped did (LandOptions.remote) */
  remote?: RemoteLand;
  /** what goes with main's move, as in the land that stopped (LandOptions.withMain) */
  withMain?: LandOptions['withMain'];
  /** failed rounds before giving up (default 3) */
  rounds?: number;
  /** finished rounds whose land met a new conflict because main moved (default 10) */
  movedRounds?: number;
  /** after this many such rounds in a row, hold the land lock through the next one (default 2) */
  priorityAfter?: number;
  signal?: AbortSignal;
}

/** What the agent may need to resolve, on top of its own claude_args (Claude Code only: the others have no such flag). */
export const RESOLVE_TOOLS = '--allowedTools=Bash(git *),Read,Edit,Write,Glob,Grep';

export async function resolveConflict(o: ResolveOptions): Promise<ResolveOutcome> {
  const rounds = o.rounds ?? 3;
  const sessions = rounds + (o.movedRounds ?? 10);
  // the branch ref does not move until the rebase finishes: this is the work as the agent left it
  const tipBefore = await gitOut(o.worktree, ['rev-parse', `refs/heads/${o.branch}`]);
  let conflict: Conflict = o.conflict;
  let sessionId = o.sessionId;
  let costUsd = 0;
  let failed = 0;
  let last: LastRound = null;
  let movedInARow = 0;
  let round = 0;
  /** every file git stopped on in this resolution, and conflict markers left in them (`file:line`) */
  const conflicted = new Set(o.conflict.files);
  let markers: string[] = [];
  /** the main commit the last round's rebase replayed the branch onto */
  let onto = '';
  let priority: AcquiredLock | null = null;
  /** counts a round that did not land: overtaken by main, or failed (stuck, unfinished, markers) */
  const tally = (how: Exclude<LastRound, null>): void => {
    last = how;
    if (how === 'overtaken') movedInARow++;
    else {
      failed++;
      movedInARow = 0;
    }
  };
  try {
    while (failed < rounds && round < sessions) {
      round++;
      if (movedInARow >= (o.priorityAfter ?? 2) && !priority) priority = await takePriority(o, movedInARow);
      if (o.signal?.aborted) return { kind: 'stopped', rounds: round - 1, costUsd, sessionId };
      const prompt = last === 'markers' ? markersPrompt(o.worktree, o.conflict.onto, markers, failed + 1, rounds) : await conflictPrompt(o.worktree, conflict, failed + 1, rounds, last, mainRef(o));
      markers = [];
      const start = await roundStart(o, last === 'markers', onto);
      onto = start.onto;
      const outcome = await resolveSession(o, sessionId, prompt);
      costUsd += runCost(outcome);
      sessionId = sessionIdOf(outcome) ?? sessionId;
      if (o.signal?.aborted || outcome.kind === 'aborted') return { kind: o.signal?.aborted ? 'stopped' : 'skipped', rounds: round, costUsd, sessionId };
      if (outcome.kind === 'refused') return { kind: 'refused', refusal: outcome.refusal, rounds: round, costUsd, sessionId };

      const next = await finishRebaseIfReady(o.worktree);
      if (next.kind === 'conflict') {
        tally('stuck');
        conflict = { ...conflict, files: next.files, commit: next.commit, subject: next.subject };
        for (const f of next.files) conflicted.add(f);
        continue;
      }
      await saveLeftovers(o);
      const finished = await finishedRound(o, start.branch, onto);
      // a resolution that `git add`ed a file with its markers still in would land them on main
      markers = await leftoverMarkers(o.worktree, onto, `refs/heads/${o.branch}`, [...conflicted]);
      if (markers.length > 0) {
        tally('markers');
        continue;
      }
      // onto the branch the land was for, whatever upstream the resolution set
      const land = await landWorktree({ worktree: o.worktree, keep: true, onto: o.conflict.onto, landLockHeld: priority !== null, approveCoven: o.approveCoven, remote: o.remote, withMain: o.withMain });
      if (land.kind === 'conflict') {
        conflict = land;
        for (const f of land.files) conflicted.add(f);
        // overtaken only when main really moved past what the agent resolved against
        const overtaken = finished && (await gitOut(o.worktree, ['rev-parse', mainRef(o)])) !== onto;
        tally(overtaken ? 'overtaken' : finished ? 'stuck' : 'unfinished');
        continue;
      }
      return { kind: 'resolved', land, rounds: round, costUsd, sessionId, backup: await backupIfDropped(o, tipBefore, land) };
    }
    // the branch goes back to the commits as the agent made them; how far the
    // resolution got (a rebase still open, or finished with markers left in) is kept
    const undone = markers.length > 0 ? await putBranchBack(o, tipBefore) : await abortRebaseIfAny(o.worktree, o.worker);
    return { kind: 'gave-up', why: failed >= rounds ? 'failed' : 'overtaken', rounds: round, failed, costUsd, sessionId, last: conflict, aborted: undone.aborted, unfinished: undone.kept, markers };
  } finally {
    await priority?.release();
  }
}

/** The ref the land rebases onto: the local main, or in remote mode the remote's main as last fetched. */
function mainRef(o: ResolveOptions): string {
  return o.remote ? trackingRef(o.remote.target) : `refs/heads/${o.conflict.onto}`;
}

/** After `moved` resolutions in a row were overtaken by main: the land lock, held through the next resolution and its land. */
async function takePriority(o: ResolveOptions, moved: number): Promise<AcquiredLock | null> {
  o.display?.(`coven: ${o.conflict.onto} moved on during ${moved} resolutions in a row; holding the land lock until this land is done`);
  return acquireLandLock(o.stateDir, { owner: `coven resolve ${o.branch} (priority)`, signal: o.signal });
}

/**
 * At the start of a round: the main commit the rebase replays the branch onto, and the
 * branch's tip (the ref stays put until the rebase finishes). After a round that left
 * markers no rebase is open: the branch already sits on that round's `onto`.
 */
async function roundStart(o: ResolveOptions, afterMarkers: boolean, onto: string): Promise<{ onto: string; branch: string }> {
  const keepOnto = afterMarkers && !rebaseInProgress(o.worktree);
  const [ontoNow, branch] = await Promise.all([keepOnto ? onto : rebaseOnto(o.worktree, mainRef(o)), gitOut(o.worktree, ['rev-parse', `refs/heads/${o.branch}`])]);
  return { onto: ontoNow, branch };
}

/**
 * The round finished the rebase: the branch moved and now sits on what it was rebased
 * onto (`git rebase --abort` puts it back where it was; the land then starts the same
 * rebase again).
 */
async function finishedRound(o: ResolveOptions, branchAtStart: string, onto: string): Promise<boolean> {
  const ref = `refs/heads/${o.branch}`;
  return (await gitOut(o.worktree, ['rev-parse', ref])) !== branchAtStart && (await contains(o.worktree, ref, onto));
}

/** One resolution session: the agent's own session resumed, or a fresh one with the same instructions when it cannot be. */
async function resolveSession(o: ResolveOptions, sessionId: string | null, prompt: string): Promise<SessionOutcome> {
  const settings = { ...o, cwd: o.worktree, agentName: `${o.agentName}-resolve`, cliArgs: (o.cli ?? 'claude') === 'claude' ? [...o.cliArgs, RESOLVE_TOOLS] : [...o.cliArgs], prompt };
  const outcome = await runAgentSession(sessionId ? { ...settings, resume: sessionId } : settings);
  if (!sessionId || !sessionUnknown(outcome, o.cli ?? 'claude')) return outcome;
  o.display?.(`coven: session ${sessionId} cannot be resumed here; starting a fresh session with the same instructions`);
  return runAgentSession(settings);
}

/** Uncommitted changes a resolution left are saved under refs/coven/wip/…, never landed. */
async function saveLeftovers(o: ResolveOptions): Promise<void> {
  if ((await dirtyFiles(o.worktree)).length === 0) return;
  const saved = await saveAndClean(o.worktree, o.worker, 'wip', 'coven: uncommitted work left after a conflict resolution');
  if (saved.kind === 'saved') o.display?.(`coven: the resolution left uncommitted changes (${saved.files.join(', ')}); saved as ${saved.ref}, not landed   (git show ${saved.ref})`);
}

/** The commit a stopped rebase replays the branch onto (main's tip when the land began); main's tip (`main`: its ref) if none is stopped. */
async function rebaseOnto(worktree: string, main: string): Promise<string> {
  return rebaseStartedAt(gitDirOfWorktree(worktree)) ?? gitOut(worktree, ['rev-parse', main]);
}

/** The commit a stopped rebase replays onto, from its own state; null when none is written (no rebase, or one half written). */
function rebaseStartedAt(gitDir: string | null): string | null {
  for (const dir of gitDir ? ['rebase-merge', 'rebase-apply'] : []) {
    try {
      return readFileSync(join(gitDir!, dir, 'onto'), 'utf8').trim();
    } catch {
      // not this kind of rebase
    }
  }
  return null;
}

async function contains(worktree: string, ref: string, commit: string): Promise<boolean> {
  return (await git(worktree, ['merge-base', '--is-ancestor', commit, ref])).ok;
}

/**
 * A resolution may drop commits (`git rebase --skip`, a squash, a commit dropped and
 * another made in its place): then the branch as it was before is saved under
 * refs/coven/resolve/<worker>/<time>, so nothing is lost even after the worker removes
 * its branch. A commit counts as kept when the result has one with the same author,
 * author date and subject (what a rebase keeps); counting commits alone would miss a
 * dropped commit that another replaced.
 */
async function backupIfDropped(o: ResolveOptions, tipBefore: string, land: LandResult): Promise<Backup | null> {
  const onto = mainRef(o);
  const original = await commitIdentities(o.worktree, [`${onto}..${tipBefore}`]);
  let result: CommitIdentity[];
  if (land.kind === 'landed') result = await commitIdentities(o.worktree, ['-n', String(land.commits), land.main]);
  else if (land.kind === 'nothing-to-land') result = [];
  else result = await commitIdentities(o.worktree, [`${onto}..refs/heads/${o.branch}`]);
  const kept = new Set(result.map((c) => c.key));
  const after = original.filter((c) => kept.has(c.key)).length;
  if (after === original.length) return null;
  const ref = await keepAt(o.worktree, covenRef('resolve', o.worker), tipBefore, 'coven: the branch before a conflict resolution that dropped commits');
  return { ref, before: original.length, after };
}


type RebaseState = { kind: 'done' } | { kind: 'conflict'; files: string[]; commit: string; subject: string };

/** If the agent resolved every file but did not continue, continue the rebase for it. */
async function finishRebaseIfReady(worktree: string): Promise<RebaseState> {
  // each `rebase --continue` applies the remaining commits until the next conflict
  for (;;) {
    if (!rebaseInProgress(worktree)) return { kind: 'done' };
    const files = await conflictedFiles(worktree);
    if (files.length > 0) return { kind: 'conflict', files, ...(await stoppedAt(worktree)) };
    const r = await git(worktree, ['-c', 'core.editor=true', 'rebase', '--continue']);
    if (!r.ok && (await conflictedFiles(worktree)).length === 0 && rebaseInProgress(worktree)) {
      // nothing conflicted, yet git will not go on (e.g. an empty commit): leave it to the next round
      return { kind: 'conflict', files: [], ...(await stoppedAt(worktree)) };
    }
  }
}

export async function conflictedFiles(worktree: string): Promise<string[]> {
  const out = await gitOut(worktree, ['diff', '--name-only', '--diff-filter=U', '-z']);
  return out.split('\0').filter(Boolean);
}

export async function stoppedAt(worktree: string): Promise<{ commit: string; subject: string }> {
  const r = await git(worktree, ['log', '-1', '--format=%H%x00%s', 'REBASE_HEAD']);
  const [commit = '', subject = ''] = r.ok ? r.stdout.trim().split('\0') : [];
  return { commit, subject };
}

export interface Undone {
  aborted: boolean;
  /** how far the resolution had got, kept under refs/coven/unfinished/…; null when there was nothing to keep */
  kept: string | null;
}

/**
 * Aborts a rebase left in progress: the branch goes back to where it was, commits
 * intact. What the rebase had got to (the commits replayed so far and the files as they
 * are, resolved, half resolved or with git's markers) is kept first, as one commit under
 * refs/coven/unfinished/<worker>/<time>, so a resolution's work is never thrown away.
 */
export async function abortRebaseIfAny(worktree: string, worker: string): Promise<Undone> {
  if (!rebaseInProgress(worktree)) return { aborted: false, kept: null };
  const gitDir = gitDirOfWorktree(worktree);
  const branch = branchBeingRebased(worktree);
  const head = await gitOut(worktree, ['rev-parse', 'HEAD']);
  const snap = await snapshotCommit({ repo: worktree, worktree, base: head, message: 'coven: an unfinished conflict resolution, as it was when the rebase was aborted' });
  // nothing to keep when the files are HEAD's and HEAD is a commit the branch or main
  // already has (no commit replayed yet, or a state half written before the rebase began)
  const startedAt = rebaseStartedAt(gitDir);
  const nothing = snap.commit === head && (startedAt === head || (await git(worktree, ['merge-base', '--is-ancestor', head, branch ?? 'HEAD'])).ok);
  const kept = nothing ? null : await keepAt(worktree, covenRef('unfinished', worker), snap.commit, 'coven: an unfinished conflict resolution');
  // a git killed while it started or finished the rebase leaves its state half written
  // (no onto), which --abort cannot read: drop the state, as --abort would, and go back
  // to the branch (it holds the commits: a rebase moves it only at its end)
  if (startedAt !== null) {
    await gitOut(worktree, ['rebase', '--abort']);
  } else {
    await gitOut(worktree, ['rebase', '--quit']);
    if (branch) await gitOut(worktree, ['checkout', '--quiet', '--force', branch.replace(/^refs\/heads\//, '')]);
  }
  return { aborted: true, kept };
}

/** After a resolution that finished with markers left in: keep it, and put the branch back on the agent's own commits. */
async function putBranchBack(o: ResolveOptions, tipBefore: string): Promise<Undone> {
  const tip = await gitOut(o.worktree, ['rev-parse', `refs/heads/${o.branch}`]);
  const kept = await keepAt(o.worktree, covenRef('unfinished', o.worker), tip, 'coven: a conflict resolution that left conflict markers');
  // the worktree is clean here (uncommitted changes were saved above) and both tips are kept
  await gitOut(o.worktree, ['reset', '-q', '--keep', tipBefore]);
  return { aborted: false, kept };
}
