#!/usr/bin/env node
// dispatch — ask the dispatch agent what this worker should do next.

const usage = `usage: coven dispatch [--out FILE] [--worker NAME] [--permission-mode MODE]
                      [--timeout MINUTES] [--no-lock] [--remote NAME] [-- <extra CLI args>]

Asks the dispatch agent (.coven/agents/dispatch.md) what to do next, in the worktree
you are in, and writes the validated decision as a decision file (to FILE, or on
stdout): {"coven":"decision/1","kind":"run","agent":"plan","args":{"issue":…},…} or
{"kind":"sleep","reason":…}, with main_tip, the main branch's tip read before the
session (coven wait sleeps until main moves away from it; docs/steps.md has the
whole format). The session gets coven's protocol (the <dispatch> block, the agents,
what the other workers do); an invalid answer gets a corrective resume of the same
session, at most ${MAX_CORRECTIONS} times. Nothing runs from an unvalidated answer.
Takes the repository's dispatch lock first, so only one dispatch runs at a time.

A run decision counts only once its job's claim is taken (refs/coven/claims/<job>,
a compare-and-swap; docs/remote.md, "Claims and leases"): the decision file names it
("claim": {"key", "ref", "sha"}), and coven land releases it once the job has landed.
A job someone else took first gets a fresh session, told who took it; a job that
landed after this dispatch looked brings the worktree up to main first; after
${MAX_CLAIM_ROUNDS} sessions it gives up (exit 5). The claim is held for the process
that ran coven dispatch (its parent: your shell, or the worker); once that process
has ended, or no one renewed the claim for its lease (COVEN_CLAIM_LEASE_MS, default 5
min), another dispatch may take the job.

  --out FILE            write the decision file to FILE instead of printing it
  --worker NAME         who asks (lock owner, log folder, the decision's worker;
                        default: from a coven/NAME branch, else manual-<pid>)
  --permission-mode M   claude's --permission-mode (default acceptEdits)
  --timeout MINUTES     wall-clock limit of the session (default 60, at most 35000)
  --no-lock             do not take the dispatch lock
  --remote NAME         remote mode (docs/remote.md): the claims are on this remote
                        (default: git config coven.remote; without either, in the
                        repository itself)
  -- <args>             extra arguments for the dispatch agent's CLI

env:    COVEN_CLAUDE, COVEN_CODEX, COVEN_GEMINI, COVEN_OPENCODE (each agent
        CLI's binary; default: its command on PATH; the agent file's cli says which)
        COVEN_CLAIM_LEASE_MS (a claim's lease, default 5 min)
        COVEN_MACHINE (this machine's name in the claim; default: the host name;
        a value that is not a machine name is refused: exit 64)
        COVEN_REMOTE_TIMEOUT_MS (remote mode: how long a fetch or push may take,
        default 60 s)
reads:  .coven/agents/*.md; <state dir>/workers/*.json (what the others do);
        refs/coven/claims/ (the jobs taken: on the remote that --remote, else git
        config coven.remote, names, when one does; docs/remote.md)
writes: the decision file (--out, else stdout); <state dir>/logs/<worker>/ (the raw
        stream of each session); <state dir>/locks/dispatch while it runs; the job's
        claim, refs/coven/claims/<job>
exit:   0 a decision (run, its claim taken; or sleep) · 1 invalid after ${MAX_CORRECTIONS} corrections
        3 the session failed · 4 no usable dispatch agent · 2 not in a git work tree
        5 nothing taken: every job it chose was taken first, or the claim could
        not be written · 64 bad usage (also --remote naming no remote of this clone,
        or a bad COVEN_MACHINE: nothing was dispatched) · 130 stopped (Ctrl-C) before a decision
`;

import { parseCommandLine, usageError } from './lib/ui/command-line.js';
import { writeTargetProblem } from './lib/files/write-atomic.js';
import { parseTimeoutMinutes, TIMEOUT_MINUTES_RULE } from './lib/ui/human-duration.js';
import { mainBranchOf } from './lib/git/main-branch.js';
import { mainTip } from './lib/worker/wait-for-main.js';
import { WORKER_NAME } from './lib/worker/name.js';
import { writeDecisionFile } from './lib/steps/decision-file.js';
import { runAsEntry } from './lib/ui/entry.js';
import { describeWait } from './lib/locks/dispatch-lock.js';
import { decisionFileOf, describeAgentProblems, MAX_CORRECTIONS } from './lib/agents/dispatch.js';
import { claimedDispatch, describeClaimsLost, holderOf, MAX_CLAIM_ROUNDS, type ClaimedOutcome } from './lib/agents/claimed-dispatch.js';
import { fixOfRemoteProblem, resolveRemote } from './lib/remote/target.js';
import { openClaimStore } from './lib/claims/index.js';
import { describeJob } from './lib/claims/claim.js';
import { syncWorktreeWithMain } from './lib/land/land.js';
import { findRepo, gitOut } from './lib/git/runner.js';
import { exitWithProblem, formatProblem } from './lib/ui/problem.js';
import { stopSessionsOnSignals } from './lib/session/stop-on-signal.js';
import { renderOutcome } from './lib/session/render.js';

const spec = { command: 'coven dispatch', usage, string: ['out', 'worker', 'permission-mode', 'timeout', 'remote'], boolean: ['lock'], default: { lock: true }, passThrough: true };

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine(argv, spec);
  if (cl.kind === 'exit') return cl.code;
  const args = cl.args;
  const timeoutMin = args.timeout === undefined ? undefined : parseTimeoutMinutes(args.timeout as string);
  if (timeoutMin === null) return usageError(spec, TIMEOUT_MINUTES_RULE).code;
  if (args.worker !== undefined && !WORKER_NAME.test(args.worker as string)) return usageError(spec, '--worker takes a worker name (lower case letters, digits and -, starting with a letter)').code;
  const outProblem = args.out === undefined ? null : await writeTargetProblem(args.out as string);
  if (outProblem) return usageError(spec, `--out ${outProblem}`).code;
  const repo = await findRepo(process.cwd());
  if (repo.kind !== 'repo') {
    process.stderr.write(formatProblem({ what: `${process.cwd()} is not inside a git worktree.`, next: ['cd into a worktree of your repository and run coven dispatch again'] }) + '\n');
    return 2;
  }
  const worktree = repo.paths.toplevel;
  const worker = (args.worker as string | undefined) ?? (await workerFromBranch(worktree)) ?? `manual-${process.pid}`;
  // read before the session: a commit landing while dispatch thinks then wakes a sleeper at once
  const main = await mainBranchOf(repo.paths);
  const tipBefore = (main.kind === 'branch' ? await mainTip(worktree, main.name) : null) ?? '';
  // the claims' remote: --remote, else coven.remote (a bad one, or a bad COVEN_MACHINE, stops here)
  const remote = await resolveRemote(repo.paths.mainWorktree, main.kind === 'branch' ? main.name : 'main', args.remote as string | undefined);
  if (remote.kind === 'problem') return exitWithProblem(64, { what: remote.message, kept: 'Nothing was dispatched and no claim was taken.', next: fixOfRemoteProblem(remote) });
  const display = (line: string) => process.stderr.write(`${line}\n`);
  const stopper = stopSessionsOnSignals();

  const outcome = await claimedDispatch({
    store: openClaimStore({ repo: repo.paths.mainWorktree, stateDir: repo.paths.stateDir, remote: remote.kind === 'remote' ? remote.target : null }),
    // the claim is held for the process that runs the loop (the shell, or the worker): it outlives this one
    holder: holderOf(worker, process.env, process.ppid),
    look: async (round) => {
      if (round === 1) return { mainTip: tipBefore };
      const tip = (main.kind === 'branch' ? await mainTip(worktree, main.name) : null) ?? '';
      await syncWorktreeWithMain(worktree); // a landed, clean worktree follows main; any other is left as it is
      return { mainTip: tip };
    },
    worktree,
    stateDir: repo.paths.stateDir,
    worker,
    permissionMode: args['permission-mode'] as string | undefined,
    extraArgs: (args['--'] as string[] | undefined) ?? [],
    timeoutMs: timeoutMin === undefined ? undefined : timeoutMin * 60_000,
    lock: args.lock as boolean,
    display,
    onWait: (p) => display(describeWait('dispatch', p)),
    onAgentProblems: (problems) => {
      if (problems.length > 0) display(describeAgentProblems(problems));
    },
    onSession: stopper.onSession,
    signal: stopper.signal,
  });
  return answer(outcome, { worktree, worker, out: args.out as string | undefined });
}

/** Writes the decision file, or says why there is none; the exit code. */
async function answer(outcome: ClaimedOutcome, at: { worktree: string; worker: string; out: string | undefined }): Promise<number> {
  switch (outcome.kind) {
    case 'decided': {
      const claim = outcome.claim && { key: outcome.claim.key, ref: outcome.claim.ref, sha: outcome.claim.sha };
      const decision = decisionFileOf(outcome, { worktree: at.worktree, worker: at.worker, mainTip: outcome.mainTip, claim });
      if (at.out) await writeDecisionFile(at.out, decision);
      else process.stdout.write(JSON.stringify(decision, null, 2) + '\n');
      return 0;
    }
    case 'invalid':
      process.stderr.write(
        formatProblem({
          what: `the dispatch agent gave no valid <dispatch> block after ${outcome.corrections} corrections: ${outcome.problems.join('; ')}.`,
          kept: `Nothing was run and nothing in the repository changed. The session is ${outcome.sessionId}.`,
          next: ['read .coven/agents/dispatch.md (does it ask for the <dispatch> block?), then run coven dispatch again'],
        }) + '\n',
      );
      return 1;
    case 'session-failed':
      process.stderr.write(formatProblem({ what: `the dispatch session failed: ${renderOutcome(outcome.outcome)}`, kept: 'Nothing was run.', next: ['coven dispatch   (try again)'] }) + '\n');
      return 3;
    case 'no-dispatch-agent':
      process.stderr.write(formatProblem({ what: `there is no usable dispatch agent:\n${outcome.problems.map((p) => `  ${p}`).join('\n')}`, next: ['coven init        (writes the default agents)', 'coven agents      (shows what is wrong)'] }) + '\n');
      return 4;
    case 'aborted':
      process.stderr.write('coven: dispatch stopped; nothing was run.\n');
      return 130;
    case 'look-stopped':
      return 130; // not reached: looking by hand never stops
    case 'claims-lost':
      process.stderr.write(formatProblem({ what: describeClaimsLost(outcome), next: ['coven dispatch   (try again: others may be done by then)'] }) + '\n');
      return 5;
    case 'claim-unreachable':
    case 'claim-failed':
      process.stderr.write(formatProblem({ what: `dispatch chose ${describeJob(outcome.job)}, but its claim could not be taken: ${outcome.message}.`, kept: 'The decision does not count: nothing was taken.', next: ['coven dispatch   (try again)'] }) + '\n');
      return 5;
  }
}

async function workerFromBranch(worktree: string): Promise<string | null> {
  const branch = await gitOut(worktree, ['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '');
  return branch.startsWith('coven/') ? branch.slice('coven/'.length) : null;
}

runAsEntry(import.meta.url, main);
