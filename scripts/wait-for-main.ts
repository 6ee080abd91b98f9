#!/usr/bin/env node
// wait-for-main — sleep until the main branch moves away from a known tip.

const usage = `usage: coven wait (--decision FILE | --since COMMIT) [--timeout DURATION]
                  [--remote NAME [--poll DURATION]]

Sleeps until the main branch's tip is no longer the baseline: the main_tip of a
decision file (main's tip before dispatch looked, so a commit that landed while it
thought wakes you at once), or the commit given with --since. Wakes without polling,
on the git hooks' wake file (coven hooks install) and on the branch's ref files, with
a slow re-check every minute for whatever those miss. Prints main's new tip.
With --remote it also asks that remote for its main branch (git ls-remote, one small
request) every 30 s, each wait ±20 % at random; a remote that does not answer is said
once and asked again, never a reason to stop. The remote's baseline is its main as
this clone last fetched it (refs/remotes/NAME/<main>). Prints the remote's new tip
when that moved first.

  --decision FILE     take the baseline from this decision file (its main_tip)
  --since COMMIT      take this commit (id or name, e.g. main) as the baseline
  --timeout DURATION  give up after this long: 30s, 10m, 1.5h (a bare number is
                      minutes; at most 24 days; default: wait as long as it takes)
  --remote NAME       also wake when the main branch of this remote moves
  --poll DURATION     how often to ask the remote: default 30s (or COVEN_REMOTE_POLL_MS),
                      at least 2s, at most 10m

env:    COVEN_REMOTE_POLL_MS (the --poll default, in ms), COVEN_REMOTE_TIMEOUT_MS (one
        ls-remote's time limit, default 60000), COVEN_MACHINE (--remote: this machine's
        name, default: the host name; a value that is not a machine name: exit 2)
reads:  the decision file; the main branch (the branch checked out in the main worktree);
        with --remote: refs/remotes/NAME/<main> and the remote's main
writes: <state dir>/main-branch (for the hooks); stdout: main's new tip
exit:   0 main moved · 5 timed out · 2 not in a git work tree, a bad decision file,
        no main branch, --remote names no remote of this clone, or a bad
        COVEN_MACHINE with --remote · 64 bad usage
        · 130 stopped (Ctrl-C)
`;

import { parseCommandLine, usageError } from './lib/ui/command-line.js';
import { runAsEntry } from './lib/ui/entry.js';
import { findRepo, revParse } from './lib/git/runner.js';
import { mainBranchOf } from './lib/git/main-branch.js';
import { exitWithProblem } from './lib/ui/problem.js';
import { humanDuration, parseDuration, tooLongForTimer } from './lib/ui/human-duration.js';
import { readDecisionFile } from './lib/steps/decision-file.js';
import { waitForMainToMove } from './lib/worker/wait-for-main.js';
import { boundedPollMs, pollWords, remotePollMs, type RemoteMainWatch } from './lib/remote/remote-poll.js';
import { resolveRemote, trackingRef } from './lib/remote/target.js';

const spec = { command: 'coven wait', usage, string: ['decision', 'since', 'timeout', 'remote', 'poll'] };

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine(argv, spec);
  if (cl.kind === 'exit') return cl.code;
  const { decision, since, timeout, remote, poll } = cl.args as { decision?: string; since?: string; timeout?: string; remote?: string; poll?: string };
  if ((decision === undefined) === (since === undefined)) return usageError(spec, 'give one of --decision FILE and --since COMMIT').code;
  const timeoutMs = timeout === undefined ? null : parseDuration(timeout);
  if (timeoutMs === null && timeout !== undefined) return usageError(spec, tooLongForTimer(timeout) ? `--timeout is at most 24 days, not '${timeout}'` : `--timeout takes a duration such as 30s, 10m or 1h, not '${timeout}'`).code;

  const pollMs = poll === undefined ? remotePollMs() : parseDuration(poll);
  if (pollMs === null) return usageError(spec, `--poll takes a duration such as 30s or 2m, not '${poll}'`).code;
  if (poll !== undefined && remote === undefined) return usageError(spec, '--poll goes with --remote NAME').code;

  const repo = await findRepo(process.cwd());
  if (repo.kind !== 'repo') return exitWithProblem(2, { what: `${process.cwd()} is not inside a git work tree.`, next: ['cd into your repository or a worktree of it, then run coven wait again'] });
  const mainBranch = await mainBranchOf(repo.paths);
  if (mainBranch.kind !== 'branch') return exitWithProblem(2, { what: `the main worktree ${mainBranch.worktree} is on no branch, so there is no main branch to wait for.`, next: ['git -C <main worktree> switch <your main branch>'] });
  let baseline: string;
  if (decision !== undefined) {
    const read = await readDecisionFile(decision);
    if (read.kind === 'bad') return exitWithProblem(2, { what: `cannot wait: ${read.problem}`, next: ['coven dispatch --out FILE   (writes a decision file)', 'coven wait --since <commit>'] });
    baseline = read.decision.main_tip;
  } else {
    const id = since === undefined || since.startsWith('-') ? null : await revParse(repo.paths.toplevel, since);
    if (id === null) return usageError(spec, `--since: '${since}' is not a commit here`).code;
    baseline = id;
  }

  let watch: RemoteMainWatch | undefined;
  if (remote !== undefined) {
    const found = await resolveRemote(repo.paths.mainWorktree, mainBranch.name, remote);
    if (found.kind !== 'remote') return exitWithProblem(2, { what: `cannot wait on the remote: ${found.kind === 'problem' ? found.message : 'no remote given'}.`, next: (found.kind === 'problem' ? found.next : undefined) ?? ['git remote -v   (the remotes this clone has)'] });
    const t = found.target;
    const intervalMs = boundedPollMs(pollMs);
    const say = (line: string) => process.stderr.write(`${line}\n`);
    watch = { repo: repo.paths.mainWorktree, remote: t.name, main: t.main, baseline: await revParse(repo.paths.mainWorktree, trackingRef(t)), intervalMs, onReachability: (r) => say(r.kind === 'reachable' ? pollWords.reachable('coven wait', t.name) : pollWords.unreachable('coven wait', t.name, r.message, intervalMs)) };
  }

  const stopped = new AbortController();
  process.once('SIGINT', () => stopped.abort());
  process.once('SIGTERM', () => stopped.abort());
  const signals = timeoutMs === null ? [stopped.signal] : [stopped.signal, AbortSignal.timeout(timeoutMs)];
  const moved = await waitForMainToMove({ repo: repo.paths.mainWorktree, mainBranch: mainBranch.name, baseline, signal: AbortSignal.any(signals), remote: watch });
  if (moved.kind === 'moved') {
    process.stdout.write(`${moved.tip}\n`);
    return 0;
  }
  if (moved.kind === 'missing') return exitWithProblem(2, { what: `the main branch ${mainBranch.name} no longer exists.` });
  if (stopped.signal.aborted) return 130;
  process.stderr.write(`coven: ${mainBranch.name} did not move from ${baseline.slice(0, 10) || '(no tip)'} in ${humanDuration(timeoutMs ?? 0)}.\n`);
  return 5;
}


runAsEntry(import.meta.url, main);
