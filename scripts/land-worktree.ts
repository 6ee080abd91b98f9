#!/usr/bin/env node
// land-worktree — put this worktree's commits on the main branch.

const usage = `usage: coven land [--keep] [--worktree DIR] [--onto BRANCH] [--approve-coven]
                  [--decision FILE] [--remote NAME]
       (standalone: node land-worktree.mjs [options])

Puts the commits of a worker worktree on the main branch: rebases the branch onto
the tip of the branch it lands on, then fast-forwards that branch: in the worktree
where it is checked out (so the user's checkout moves too), or with a compare-and-swap
when it is checked out nowhere. Afterwards removes the worktree and its branch unless
--keep is given. Nothing is ever discarded, reset or cleaned: a dirty tree, a conflict
or uncommitted work in main's checkout stops the land and says what to do.
Commits that change .coven/ (agent files, the workflow, replaced steps) are held:
they land only with --approve-coven, given by the human who read them.

  --keep           keep the worktree and branch after landing (default: remove both
                   once everything is on main)
  --worktree DIR   the worker worktree to land (default: the current directory)
  --onto BRANCH    the branch to land on (default: the branch's local upstream,
                   else the branch checked out in the main worktree)
  --approve-coven  land commits that change .coven/ (without it such a land is
                   held: exit 5, nothing changed, the files named). A human's
                   answer: refused from inside an agent session (COVEN_SESSION_MARK set)
  --decision FILE  the decision file coven dispatch wrote for this job: its claim
                   is released with the land itself (one git transaction with
                   main's move; remote mode: the same push), or once the job has
                   nothing to land; a claim that is no longer this job's stops the
                   land (exit 7).
                   Without it, a land releases the claims held by the worktree's
                   worker (coven/NAME) on this machine (docs/steps.md)
  --remote NAME    remote mode (docs/remote.md): fetch the main branch from this
                   remote, rebase onto it and push the commits there as a
                   fast-forward (never forced; main moved meanwhile: fetch, rebase,
                   push again); the local main branch and its checkout follow only
                   when they have no commits the remote lacks (default: git config
                   coven.remote; without either, the local main branch moves)
  -h, --help       show this help

env:    COVEN_WORKER: the worker running this step (its own worktree is not refused)
        COVEN_SESSION_MARK: set inside an agent session; --approve-coven is then refused
        COVEN_REMOTE_TIMEOUT_MS: how long a fetch or push may take (default 60 s)
        COVEN_MACHINE: this machine's name, in the claims it releases (default: the
        host name, docs/remote.md); a value that is not a machine name: exit 64
reads:  git: the worktree's branch and the branch it lands on (remote mode: fetched);
        refs/coven/claims/ (the job's claim; remote mode: on the remote); --decision FILE
writes: git: the rebased branch, the branch it lands on (and that checkout's files);
        remote mode: the remote's main (push), refs/remotes/NAME/<main>;
        <state dir>/locks/land, held for the fast-forward only; the job's claim
        (a tombstone naming the landed commit); stdout: one line per
        step, the last says what happened (problems on stderr)
exit:   0 landed or nothing to land · 2 the worktree has uncommitted changes, or
        it is not inside a git work tree · 3 conflict (the rebase is left in progress: coven resolve, or resolve by hand)
        4 main's checkout has changes in the way, or is busy, or a running worker
        works in this worktree (nothing is changed: that worker lands it) · 5 held:
        the commits change .coven/ and --approve-coven was not given (main
        unchanged; the branch keeps its commits, rebased) · 6 remote mode: the
        remote did not answer (nothing pushed; try again later) · 7 the job's
        claim was taken over or removed (nothing moved or pushed) · 1 anything else (also a
        push the server refused: a protected branch, a hook; its words are shown)
        64 bad arguments (also --remote naming no remote of this clone, or a bad
        COVEN_MACHINE: nothing was changed)
`;

import { parseCommandLine } from './lib/ui/command-line.js';
import { isEntry, runAsEntry } from './lib/ui/entry.js';
import { landWorktree } from './lib/land/land.js';
import { againCommand, describeLand } from './lib/land/messages.js';
import { exitWithProblem, shellQuote } from './lib/ui/problem.js';
import { refuseIfOwned } from './lib/worker/owner.js';
import { findRepo, type RepoPaths } from './lib/git/runner.js';
import { openClaimStore } from './lib/claims/index.js';
import { describeJob, type ReleaseEnd } from './lib/claims/claim.js';
import { claimWithLand, releaseClaimsOf } from './lib/agents/claim-release.js';
import { readDecisionFile } from './lib/steps/decision-file.js';

import { SESSION_MARK } from './lib/session/process-groups.js';
import { mainBranchOf } from './lib/git/main-branch.js';
import { fixOfRemoteProblem, machineName, type RemoteTarget, resolveRemote } from './lib/remote/target.js';

const spec = { command: 'coven land', usage, boolean: ['keep', 'approve-coven'], string: ['worktree', 'onto', 'decision', 'remote'] };

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine(argv, spec);
  if (cl.kind === 'exit') return cl.code;
  const args = cl.args;
  const worktreeArg = args.worktree as string | undefined;
  const ontoArg = args.onto as string | undefined;

  const self = isEntry(import.meta.url) ? `node ${shellQuote(process.argv[1] ?? 'land-worktree.mjs')}` : 'coven land';
  const worktree = worktreeArg ?? process.cwd();
  const remoteArg = args.remote as string | undefined;
  const againArgs = [...(args.keep ? ['--keep'] : []), ...(ontoArg ? ['--onto', ontoArg] : []), ...(remoteArg ? ['--remote', remoteArg] : [])];
  // a worker's worktree is its own while it runs: landing it by hand would pull it from under the worker
  const repo = await findRepo(worktree);
  let remote: RemoteTarget | null = null;
  if (repo.kind === 'repo') {
    const refused = await refuseIfOwned(repo.paths, 4, 'land', (owner) => againCommand(self, owner.worktree, againArgs));
    if (refused !== null) return refused;
    const main = await mainBranchOf(repo.paths);
    const found = await resolveRemote(repo.paths.mainWorktree, ontoArg ?? (main.kind === 'branch' ? main.name : 'main'), remoteArg);
    if (found.kind === 'problem') return exitWithProblem(64, { what: found.message, kept: 'Nothing was changed.', next: fixOfRemoteProblem(found) });
    remote = found.kind === 'remote' ? found.target : null;
  }
  // an agent can run coven land on its own worktree; the approval is not its to give
  if (args['approve-coven'] && process.env[SESSION_MARK]) {
    return exitWithProblem(5, {
      what: `--approve-coven is the human's answer: it is not taken from inside an agent session (${SESSION_MARK} is set)`,
      kept: 'nothing was changed: main, the branch and its commits are as they were',
      next: [`from your own terminal, after reading the change: ${self} --worktree ${shellQuote(worktree)} --keep --approve-coven`],
    });
  }
  const decided = args.decision === undefined ? null : await readDecisionFile(args.decision as string);
  const claim = decided?.kind === 'read' && decided.decision.kind === 'run' ? decided.decision.claim : null;
  // the decision's claim moves with main (one transaction; one push in remote mode)
  const withClaim = claim !== null && repo.kind === 'repo' && decided?.kind === 'read';
  const withMain = withClaim ? claimWithLand(openClaimStore({ repo: repo.paths.mainWorktree, stateDir: repo.paths.stateDir, remote }), { ref: claim.ref, sha: claim.sha, worker: decided.decision.worker, machine: machineName() }) : undefined;
  const result = await landWorktree({
    worktree,
    keep: Boolean(args.keep),
    onto: ontoArg,
    approveCoven: Boolean(args['approve-coven']),
    ...(remote ? { remote: { target: remote } } : {}),
    ...(withMain ? { withMain } : {}),
    log: (line) => process.stdout.write(`  ${line}\n`),
  });
  const out = describeLand(result, { self, againArgs });
  (out.ok ? process.stdout : process.stderr).write(`${out.text}\n`);
  // a land with the decision's claim released it with main's move (or the push) itself
  const releasedInPush = withClaim && result.kind === 'landed';
  if (releasedInPush && remote) process.stdout.write(`  released the job's claim (${claim.ref}) with the push\n`);
  if (releasedInPush && !remote && decided.decision.kind === 'run') process.stdout.write(`  released the claim on ${describeJob({ agent: decided.decision.agent, args: decided.decision.args })} with the move of ${result.onto}\n`);
  if (repo.kind === 'repo' && !releasedInPush && (result.kind === 'landed' || (result.kind === 'nothing-to-land' && args.decision !== undefined))) {
    await releaseJobClaim(repo.paths, remote, result.kind === 'landed' ? { kind: 'landed', commit: result.main } : { kind: 'given-up', why: 'nothing to land' }, result.branch, args.decision as string | undefined);
  }
  // not inside a git work tree: 2, as in every coven command
  return result.kind === 'not-a-worktree' ? 2 : out.code;
}

/** The job's claim, released as the land ended: the decision file's, else the worker's (from its coven/NAME branch). */
async function releaseJobClaim(paths: RepoPaths, remote: RemoteTarget | null, end: ReleaseEnd, branch: string, decisionPath: string | undefined): Promise<void> {
  let ref: string | undefined;
  let worker = branch.startsWith('coven/') ? branch.slice('coven/'.length).split('/')[0] : undefined;
  if (decisionPath !== undefined) {
    const read = await readDecisionFile(decisionPath);
    if (read.kind !== 'read') return void process.stderr.write(`coven: the job's claim was not released: ${read.problem}\n`);
    if (read.decision.kind !== 'run' || !read.decision.claim) return;
    ref = read.decision.claim.ref;
    worker = read.decision.worker;
  }
  if (ref === undefined && worker === undefined) return;
  const store = openClaimStore({ repo: paths.mainWorktree, stateDir: paths.stateDir, remote });
  const r = await releaseClaimsOf(store, { ref, worker, machine: machineName() }, end);
  for (const job of r.released) process.stdout.write(`  released the claim on ${job}\n`);
  for (const p of r.problems) process.stderr.write(`coven: the claim on ${p} was not released; it runs out after its lease\n`);
}

runAsEntry(import.meta.url, main);
