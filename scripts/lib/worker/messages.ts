// worker messages — every line a worker shows a human, in one place. Each function
// returns the text; the worker decides where it goes (ui.line or ui.problem). Problems
// follow problem.ts: what happened, what was kept, the next command.

import { formatProblem, shellQuote } from '../ui/problem.js';
import { clockTime, humanDuration } from '../ui/human-duration.js';

const q = shellQuote;
const short = (id: string) => id.slice(0, 10);

/** Where a worker is, for the messages that name it. */
export interface Here {
  name: string;
  branch: string;
  worktree: string;
  main: string;
  mainWorktree: string;
  /** remote mode: the remote's name (its main, `<remote>/<main>`, is the one the worker lands on) */
  remote?: string;
}

/** The main a message names: `origin/main` in remote mode, `main` in local mode. */
const mainOf = (main: string, remote: string | undefined): string => (remote ? `${remote}/${main}` : main);

// ------------------------------------------------------------------ start

export const cannotStart = {
  notARepo: (cwd: string) => ({ what: `${cwd} is not inside a git repository.`, next: ['cd into your repository, then run coven worker again'] }),
  bare: (cwd: string) => ({ what: `${cwd} is a bare repository; coven needs a main worktree to land on.`, next: [`git clone ${q(cwd)} <project>   (a clone with a checkout), then run coven worker inside it`] }),
  worktreeOfBare: (toplevel: string, commonDir: string) => ({
    what: `${toplevel} is a worktree of the bare repository ${commonDir}; coven needs a main worktree (a checkout, not a bare repository) to land on.`,
    next: [`git clone ${q(commonDir)} <project>   (a clone with a checkout), then run coven worker inside it`],
  }),
  detached: (mainWorktree: string) => ({ what: `the main worktree ${mainWorktree} has no branch checked out (detached HEAD), so coven cannot tell which branch is main.`, next: [`git -C ${q(mainWorktree)} switch <your main branch>`] }),
  noCommits: (main: string, mainWorktree: string) => ({ what: `the main branch ${main} has no commits yet, so a worker has nothing to start from.`, next: [`git -C ${q(mainWorktree)} commit --allow-empty -m "initial commit"`, 'coven worker'] }),
  /** none of the dispatch agent's CLIs is there: `messages` says why for each, `clis` how to get them */
  noCli: (messages: string[], clis: { name: string; install: string; envVar: string; command: string }[]) => ({
    what: messages.length === 1 ? (messages[0] ?? '') : `none of the dispatch agent's CLIs (${clis.map((c) => c.name).join(', ')}) can run:\n${messages.map((m) => `  ${m}`).join('\n')}`,
    next: clis.flatMap((c) => [`${c.install}   (then: ${c.command}, to log in once)`, `${c.envVar}=/path/to/${c.command} coven worker   (if it is installed elsewhere)`]),
  }),
  noRemoteMain: (remote: string, main: string, message: string) => ({
    what: `the worker's worktree starts from ${main} on ${remote}, which cannot be fetched (${message}), and this clone never fetched it.`,
    next: [`git fetch ${q(remote)} ${q(main)}   (once it answers)`, 'coven worker   (again)'],
  }),
  badName: (name: string) => ({ what: `'${name}' is not a valid worker name (lower case letters, digits and -, starting with a letter, at most 40).`, next: [] }),
  nameTaken: (name: string) => ({ what: `a worker named ${name} is already running.`, next: ['coven status', `coven worker --name <another name>`] }),
  notCovens: (branch: string, worktree: string, planned: string) => ({
    what: `${branch} is checked out in ${worktree}, not in a worktree coven made (a worker would use ${planned}); coven does not take over, land or remove a worktree it did not make.`,
    next: [`coven worker --name <another name>`, `# if that worktree is yours, put its work on a branch of your own: git -C ${q(worktree)} switch -c <name>`],
  }),
};

export function cannotStartText(p: { what: string; next: string[] }): string {
  return formatProblem({ ...p, kept: 'Nothing was created or changed.' });
}

/** The command that starts this worker again (spawn-messages.ts offers it after a failed spawn). */
export function rerunCommand(name: string, branch: string, o: { base?: string }, b?: string): string {
  const base = o.base ? ['--worktree-base', o.base.startsWith('<') ? o.base : q(o.base)] : [];
  return ['coven worker', ...(b && b !== branch ? ['--name', '<another name>'] : ['--name', name]), ...base].join(' ');
}

export const start = {
  remadeHalfMade: (path: string, name: string) => `coven: removed ${path}, which the previous ${name} left half made; making it again`,
  adopting: (name: string, worktree: string) => `coven: adopting the existing worktree of ${name}: ${worktree}`,
  branchWithoutWorktree: (branch: string, worktree: string) => `coven: ${branch} had no worktree (deleted by hand?); gave it a new one at ${worktree}, with every commit the branch holds`,
  upstreamGone: (branch: string, gone: string, main: string) => `coven: ${branch} landed on ${gone}, which no longer exists; it lands on ${main} now (the branch checked out in the main worktree)`,
  remoteOffline: (remote: string, message: string, ref: string, tip: string) => `coven: ${remote} did not answer (${message}); the worktree starts from its main as last fetched, ${ref} (${short(tip)}); the land fetches again`,
  endedOrphan: (name: string, pid: number) => `coven: ended the agent session the previous ${name} left running (pid ${pid})`,
  removedGitLock: (lock: string, name: string) => `coven: removed ${lock}, left by a git command killed with the previous ${name}`,
};

// ------------------------------------------------------------------ dispatch and sleep

export const cycle = {
  dispatchRetry: (message: string, waitMs: number) => `${message}\ncoven: trying again in ${humanDuration(waitMs)}.`,
  sleeps: (name: string, reason: string) => `coven: ${name} sleeps: ${reason}`,
  herdSleep: (reason: string, by: string) => `${reason} (as ${by} decided for this commit)`,
  wakes: (main: string, tip: string, name: string) => `coven: ${main} moved (now ${short(tip)}); ${name} wakes up`,
  mainGone: (name: string, main: string, mainWorktree: string) =>
    `coven: the main branch ${main} no longer exists (renamed or deleted while ${name} ran?); ${name} stops instead of dispatching with nothing to land on. A worker started again lands on the branch checked out in ${mainWorktree}: coven worker --name ${name}`,
  idleExit: (name: string, main: string, ms: number) => `coven: ${main} has not moved for ${humanDuration(ms)}; ${name} stops (--exit-when-idle)`,
  agentFilesReadable: 'coven: every agent file can be read again',
  savedBeforeDispatch: (worktree: string, files: string[], ref: string) => `coven: ${worktree} had uncommitted changes (${files.join(', ')}); saved as ${ref}`,
  syncedOffline: (remote: string, main: string, why: string) => `coven: ${remote} did not answer (${why}); dispatch sees ${main} as this clone fetched it last`,
  notSynced: (worktree: string, main: string, kind: string) => `coven: could not bring ${worktree} up to ${main} before dispatch (${kind}); dispatch sees it as it is`,
  noDispatchAgent: (worktree: string, problems: string[]) =>
    formatProblem({ what: `there is no usable dispatch agent in ${worktree}:\n${problems.map((p) => `  ${p}`).join('\n')}`, next: ['coven init   (writes the default agents), then commit them on the main branch'] }),
  /** `coven init` wrote the agents in the main worktree, but a worker's worktree only has what is committed */
  agentsNotCommitted: (mainWorktree: string, main: string) =>
    formatProblem({
      what: `the agent files in ${mainWorktree}/.coven/ are written but not committed, and a worker sees only what is committed on ${main}.`,
      kept: 'Nothing was run; the files are where coven init wrote them.',
      next: [`git -C ${q(mainWorktree)} add .coven && git -C ${q(mainWorktree)} commit -m "coven agents"`, 'coven worker   (or leave a running worker: it tries again by itself)'],
    }),
  invalidDecision: (corrections: number, problems: string[]) => formatProblem({ what: `dispatch gave no valid decision after ${corrections} corrections: ${problems.join('; ')}.`, kept: 'Nothing was run; the repository is as it was.' }),
  dispatchSessionFailed: (rendered: string) => formatProblem({ what: `the dispatch session failed:\n${rendered}`, kept: 'Nothing was run.' }),
  agentVanished: (agent: string, worktree: string) => `coven: agent ${agent} vanished from ${worktree}/.coven/agents after dispatch chose it.`,
  claimUnreachable: (job: string, why: string) => formatProblem({ what: `dispatch chose ${job}, but its claim could not be taken: the remote did not answer (${why}).`, kept: 'The decision does not count: nothing was taken and nothing ran.' }),
  claimFailed: (job: string, why: string) => formatProblem({ what: `dispatch chose ${job}, but its claim could not be taken: ${why}.`, kept: 'The decision does not count: nothing was taken and nothing ran.' }),
  stepChoseTaken: (path: string, job: string, holder: string, why: 'lost' | 'stale-view') =>
    formatProblem({ what: `the dispatch step ${path} chose ${job}, which ${holder} ${why === 'lost' ? 'holds' : 'landed after the step looked'}.`, kept: 'Nothing was taken and nothing ran.' }),
};

// ------------------------------------------------------------------ the agent's job

export const job = {
  /** run-agent's core refused the decision (the registry changed since dispatch checked it): nothing ran */
  refused: (agent: string, problems: string[]) => `coven: ${agent} cannot run: ${problems.join('; ')}`,
  failedOnce: (agent: string, outcome: string) => `coven: the ${agent} session ended without success (${outcome}) and nothing landed`,
  /** `every CLI of agent implement refused (claude: quota)` (the state's retry.why, and status's note) */
  allRefusedWhy: (agent: string, refused: readonly { cli: string; reason: string }[]) => `every CLI of agent ${agent} refused (${refused.map((r) => `${r.cli}: ${r.reason}`).join(', ')})`,
  allRefused: (why: string, at: Date, waitMs: number, h: Pick<Here, 'branch'>) =>
    `coven: ${why}; trying again at ${clockTime(at)} (in ${humanDuration(waitMs)}). Nothing is lost: what the sessions did stays in the worktree, on ${h.branch}.`,
  retries: (agent: string) => `coven: trying ${agent} again`,
  allRefusedOnce: (why: string) => `coven: ${why}; with --once the worker does not wait to try again (without it, it would)`,
};

// ------------------------------------------------------------------ land and resolve

export const land = {
  conflict: (onto: string, files: string[], remote?: string) => `coven: rebasing onto ${mainOf(onto, remote)} stopped on a conflict in ${files.join(', ') || 'a commit git could not apply'}; resuming the session that made the commits to resolve it`,
  resolutionRefused: (h: Here, cli: string, r: { reason: string; message: string }, commits: number, retryMs: number | null) =>
    `coven: the ${cli} session resolving the conflict was refused (${r.reason}: ${r.message}): the rebase is undone and ${h.branch} keeps its ${commits} commit(s)${retryMs === null ? '' : `; ${h.name} tries the land again once ${h.main} moves, or in ${humanDuration(retryMs)}`}`,
  resolutionSkipped: (h: Here, commits: number, retryMs: number | null) =>
    `coven: conflict resolution skipped: the rebase is undone and ${h.branch} keeps its ${commits} commit(s)${retryMs === null ? '' : `; ${h.name} tries the land again once ${h.main} moves, or in ${humanDuration(retryMs)}`}`,
  gaveUpRounds: (r: { why: string; rounds: number; failed: number; markers: string[] }, onto: string) => {
    const overtaken = r.rounds - r.failed;
    const rounds =
      r.why === 'failed'
        ? `${r.failed} resolution rounds did not fix it${overtaken > 0 ? ` (${overtaken} more were overtaken by ${onto} moving)` : ''}`
        : `${overtaken} resolutions were overtaken by ${onto} moving again (${r.failed} did not resolve)`;
    return rounds + (r.markers.length > 0 ? `; the last one left conflict markers in ${r.markers.join(', ')}` : '');
  },
  resolved: (rounds: number) => `coven: conflict resolved in ${rounds} round(s)`,
  resolutionBackup: (name: string, b: { before: number; after: number; ref: string }) => `coven: the resolution kept ${b.after} of ${name}'s ${b.before} commit(s); the branch as it was before is saved as ${b.ref}`,
  landed: (commits: number, onto: string, main: string) => `coven: landed ${commits} commit(s) on ${onto} (now ${short(main)})`,
  landedByStep: (commits: number, onto: string) => `coven: the resolve-conflict step resolved the conflict and landed ${commits} commit(s) on ${onto}`,
  nothing: 'coven: nothing to land',
  retriesLater: (name: string) => `coven: ${name} keeps its commits and retries the land before its next dispatch.`,
  rebaseUndone: (h: Here, kept: string) => `coven: the unfinished rebase in ${h.worktree} is undone (${h.branch} keeps its commits); how far it had got is kept as ${kept}   (git show --stat ${kept})`,
  goesOn: (h: Here) => `coven: ${h.branch} has nothing left to land; ${h.name} goes on.`,
  /** the job's claim was taken over before the land could push (remote mode) or move main (lease-lost) */
  superseded: (h: Here, l: { remote?: string; ref: string; commits: number }, kept: string) =>
    l.remote === undefined
      ? formatProblem({
          what: `${h.name} did not land its work: the job's claim ${l.ref} is not its own any more (another worker took the job over, or the claim was removed), so ${h.main} did not move.`,
          kept: `The ${l.commits} commit(s) are kept as ${kept}, not landed; ${h.branch} starts again from ${h.main}, and ${h.name} goes on with other work.`,
          next: [`git log --oneline ${q(h.main)}..${kept}   (what this worker had made)`, `git update-ref -d ${kept}   (to drop it once the other worker's work is on ${h.main})`],
        })
      : formatProblem({
          what: `${h.name} did not land its work: the job's claim ${l.ref} on ${l.remote} was taken over by another worker (its lease ran out), so the push was refused and ${h.main} on ${l.remote} did not move.`,
          kept: `The ${l.commits} commit(s) are kept as ${kept}, never pushed; ${h.branch} starts again from ${l.remote}'s ${h.main}, and ${h.name} goes on with other work.`,
          next: [`git log --oneline ${q(`${l.remote}/${h.main}`)}..${kept}   (what this worker had made)`, `git update-ref -d ${kept}   (to drop it once the other worker's work is on ${h.main})`],
        }),
};

export const park = {
  /** `remote`: remote mode, where the land's conflict is with `<remote>/<main>` */
  why: (last: { kind: string; onto?: string; files?: string[]; remote?: string; message?: string; step?: string }, rounds: string, remote?: string) =>
    last.kind === 'failed'
      ? `its land failed at ${last.step ?? 'a step'}: ${last.message ?? ''}`
      : last.kind === 'push-refused'
      ? `${last.remote} refused the push of its commits to ${last.onto} (${last.message}); coven never forces a push`
      : last.kind === 'conflict'
      ? `its commits conflict with ${mainOf(last.onto ?? 'main', remote)} in ${last.files?.join(', ') || 'files git could not merge'}, and ${rounds}`
      : last.kind === 'coven-held'
        ? `its commits change .coven/ (${last.files?.join(', ')}), which lands only when you approve it   (git diff ${q(mainOf(last.onto ?? 'main', remote))}...<branch> -- .coven)`
        : `its land stopped: ${last.kind}`,
  /** under a held land's message (lib/land/messages.ts describeHeld): what the worker does meanwhile */
  heldWaits: (h: Here, once: boolean) =>
    once
      ? `  ${h.name} stopped; its worktree and branch stay. Once you approved or dropped the change: coven worker --name ${h.name}`
      : `  ${h.name} is parked (coven status shows why) and goes on by itself once ${h.branch} has nothing left to land: you approved the change, or dropped those commits.`,
  defaultRounds: '3 resolution rounds did not fix it',
  stepGaveUp: 'the resolve-conflict step gave up',
  attempt: (ref: string | null) => (ref ? ` How far the resolution got is kept as ${ref}   (git show --stat ${ref}).` : ''),
  setAside: (h: Here, why: string, count: number, aside: string, also: string) =>
    formatProblem({
      what: `${h.name} parked its work: ${why}.`,
      kept: `The ${count} commit(s) are on the branch ${aside}; the worker goes on from ${mainOf(h.main, h.remote)}.${also}`,
      next: [
        h.remote
          ? `git -C ${q(h.mainWorktree)} fetch ${q(h.remote)} && git -C ${q(h.mainWorktree)} rebase ${q(mainOf(h.main, h.remote))} ${aside}   (resolve by hand), then push it: git -C ${q(h.mainWorktree)} push ${q(h.remote)} ${aside}:${h.main}`
          : `git -C ${q(h.mainWorktree)} rebase ${q(h.main)} ${aside}   (resolve by hand), then merge it`,
        `git branch -D ${aside}   (to drop that work)`,
      ],
    }),
  parked: (h: Here, why: string, count: number, also: string, once: boolean) =>
    formatProblem({
      what: `${h.name} is parked: ${why}.`,
      kept: `Nothing was lost: the ${count} commit(s) stay on ${h.branch} in ${h.worktree}; ${mainOf(h.main, h.remote)} is unchanged.${also}`,
      next: [
        `cd ${q(h.worktree)} && ${h.remote ? `git fetch ${q(h.remote)} && ` : ''}git rebase ${q(mainOf(h.main, h.remote))}   (resolve, git add, git -c core.editor=true rebase --continue)`,
        `coven land --keep --worktree ${q(h.worktree)}${h.remote ? ` --remote ${q(h.remote)}` : ''}`,
        once ? `coven worker --name ${h.name}   (picks up where this worker stopped)` : `the worker goes on by itself once ${h.branch} has nothing left to land`,
      ],
    }),
};

// ------------------------------------------------------------------ replaced steps

export const replaced = {
  inUse: (via: string[]) => via.map((v) => `coven: step replaced: ${v}`).join('\n'),
  badOverride: (problem: string) => ({ what: `a replaced step cannot be run: ${problem}.`, next: ['chmod +x <the file>, or remove it (or unset the COVEN_STEP_… variable)', 'coven worker'] }),
  running: (step: string, path: string) => `coven: running the ${step} step ${path}`,
  failed: (step: string, path: string, code: number | null, error?: string) => `coven: the ${step} step ${path} ${code === null ? `did not finish${error ? ` (${error})` : ' (killed by a signal)'}` : `exited ${code}`}`,
  noDecision: (path: string, why: string) => formatProblem({ what: `the dispatch step ${path} gave no decision to run: ${why}.`, kept: 'Nothing was run.' }),
  noRecord: (path: string, problem: string) => `coven: the run-agent step ${path} left no session record the worker can read: ${problem}`,
  landed: (path: string, commits: number, main: string) => `coven: the land step ${path} landed ${commits} commit(s) on ${main}`,
  handedOff: (h: Here, path: string, commits: number, ref: string) =>
    `coven: the land step ${path} took ${commits} commit(s) that ${h.main} here does not have (handed off); they are kept as ${ref}   (git log ${ref}); ${h.name} goes on from ${h.main}`,
};

// ------------------------------------------------------------------ stop

/** Where the work that could not be landed went, one line per ref. */
export function describeSaved(refs: string[]): string {
  return refs.map((r) => `Work it could not commit on its branch is saved as ${r}  (git show ${r})`).join('\n');
}

const savedTail = (saved: string[]) => (saved.length > 0 ? `\n${describeSaved(saved)}` : '');
const onError = (failure: string | null) => (failure !== null ? ` on an unexpected error (${failure})` : '');

export const stop = {
  unexpected: (name: string, err: unknown) => `coven: unexpected error in worker ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
  failedNothingLeft: (h: Here, failure: string, saved: string[]) =>
    formatProblem({
      what: `${h.name} stopped on an unexpected error: ${failure}`,
      kept: `It left nothing unlanded (its branch had no commits that are not on ${h.main}, its worktree no uncommitted changes), so its worktree and branch are removed.${savedTail(saved)}`,
      next: [`coven worker --name ${h.name}   (starts it again, once the cause above is fixed)`],
    }),
  allLanded: (h: Here) => `coven: ${h.name} stopped; everything it made is on ${h.main}; its worktree and branch are removed.`,
  landedWithSaved: (h: Here, saved: string[]) => `coven: ${h.name} stopped; its commits are on ${h.main} and its worktree and branch are removed.${savedTail(saved)}`,
  notRemoved: (h: Here, failure: string | null, reason: string) =>
    formatProblem({
      what: `${h.name} stopped${onError(failure)}; everything on its branch is on ${h.main}, but its worktree could not be removed: ${reason}`,
      kept: `Kept: the worktree ${h.worktree} with everything in it (a nested repository there keeps its own commits only in its folder) and the branch ${h.branch}.`,
      next: [
        `git -C ${q(h.worktree)} status --ignored   (what is left there)`,
        `git -C ${q(h.mainWorktree)} worktree remove --force ${q(h.worktree)} && git -C ${q(h.mainWorktree)} branch -D ${q(h.branch)}   (once nothing there is needed)`,
      ],
    }),
  left: (h: Here, a: { rebasing: boolean; commits: number; dirty: string[]; noTarget?: boolean }) =>
    [
      a.rebasing ? 'a rebase in progress' : '',
      a.commits > 0 ? `${a.commits} commit(s) not on ${h.main}` : '',
      a.noTarget ? `commits coven cannot count: ${h.main}, the branch they land on, is gone` : '',
      a.dirty.length > 0 ? `uncommitted changes (${a.dirty.slice(0, 5).join(', ')}${a.dirty.length > 5 ? ', …' : ''})` : '',
    ]
      .filter(Boolean)
      .join(' and '),
  kept: (h: Here, failure: string | null, left: string, rebasing: boolean, saved: string[]) =>
    formatProblem({
      what: `${h.name} stopped${onError(failure)} with work that is not on ${h.main}: ${left || 'a worktree coven could not read'}.`,
      kept: `Kept: the branch ${h.branch} and the worktree ${h.worktree}.${savedTail(saved)}`,
      next: [
        ...(rebasing ? [`cd ${q(h.worktree)} && git status   (finish the rebase: git rebase --continue, or drop it: git rebase --abort)`] : []),
        `coven worker --name ${h.name}   (a new worker picks it up and lands it)`,
        `cd ${q(h.worktree)} && git status && coven land   (land it yourself)`,
        `coven gc --force   (set it aside under refs/coven/gc/ and remove the worktree and branch)`,
        `git -C ${q(h.mainWorktree)} worktree remove --force ${q(h.worktree)} && git -C ${q(h.mainWorktree)} branch -D ${h.branch}   (discard it)`,
      ],
    }),
  bothDeleted: (h: Here) => `coven: ${h.name} stopped: its worktree ${h.worktree} and its branch ${h.branch} were deleted by hand.`,
  worktreeGone: (h: Here, commits: number) =>
    formatProblem({
      what: `${h.name} stopped: its worktree ${h.worktree} is gone (deleted by hand?).`,
      kept: `The branch ${h.branch} keeps every commit${commits > 0 ? ` (${commits} not on ${h.main})` : ''}.`,
      next: [`coven worker --name ${h.name}   (gives the branch a new worktree and lands what it holds)`, `git branch -D ${h.branch}   (to drop it)`],
    }),
  deletedWhileRunning: (h: Here) => `the worktree of ${h.name} (${h.worktree}) was deleted while the worker ran.`,
  notRemade: (h: Here, spawnProblem: string) => formatProblem({ what: stop.deletedWhileRunning(h), kept: `The branch ${h.branch} keeps every commit; a new worktree could not be made:\n${spawnProblem}` }),
  remade: (before: Here, worktree: string, commits: number) =>
    formatProblem({
      what: stop.deletedWhileRunning(before),
      kept: `Nothing committed was lost: the branch ${before.branch} keeps every commit${commits > 0 ? ` (${commits} not on ${before.main} yet, landed next)` : ''}. Uncommitted files that were in that folder are gone.\n${before.name} gave ${before.branch} a new worktree at ${worktree} and goes on.`,
    }),
};

// ------------------------------------------------------------------ signals

export const signals = {
  stopSoon: '\ncoven: stopping once the current step is safe (again to stop at once)…\n',
  stopNow: '\ncoven: stopping now.\n',
};
