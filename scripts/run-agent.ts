#!/usr/bin/env node
// run-agent — one agent session for a decision, recorded for the steps after it.

const usage = `usage: coven run-agent --decision FILE --out FILE [--worktree DIR]
                       [--permission-mode MODE] [--timeout MINUTES] [-- <CLI args>]

Runs the agent that a decision file (written by coven dispatch) names, in this
worktree, for one session, and writes how it went as a session record. The agent and
its arguments are checked against the worktree's .coven/agents/ again before anything
runs. Afterwards, changes left uncommitted are committed by the same session or saved
under refs/coven/, and commits made off the branch are kept there too. Nothing lands:
that is coven land.

  --decision FILE      the decision to run (untrusted: read capped, validated)
  --out FILE           where to write the session record
  --worktree DIR       the worktree (default: the current directory); it must be the
                       decision's
  --permission-mode M  claude's --permission-mode (default acceptEdits)
  --timeout MINUTES    wall-clock limit of the session (default 60, at most 35000)
  -- <args>            extra arguments for the agent's CLI (every CLI it falls back to too)

env:    COVEN_CLAUDE, COVEN_CODEX, COVEN_GEMINI, COVEN_OPENCODE (each agent
        CLI's binary; default: its command on PATH; the agent file's cli says which)
reads:  the decision file; .coven/agents/*.md
writes: the session record (--out); the agent's commits on the worktree's branch;
        refs/coven/… (work kept aside); <state dir>/logs/<worker>/ (the raw stream);
        <state dir>/locks/agent-<agent>.<n> while it runs, when it has max_concurrency
exit:   0 the session succeeded · 10 the decision is sleep (nothing run)
        5 the session failed (record written, its commits kept)
        6 the decision is refused: unreadable, made for another worktree, or an agent
          or arguments the registry refuses, or a running worker works in this
          worktree (nothing run)
        2 not in a git work tree, or on no branch · 64 bad usage
        130 stopped (Ctrl-C) · 1 anything unexpected
`;

import { parseCommandLine, usageError } from './lib/ui/command-line.js';
import { writeTargetProblem } from './lib/files/write-atomic.js';
import { parseTimeoutMinutes, TIMEOUT_MINUTES_RULE } from './lib/ui/human-duration.js';
import { runAsEntry } from './lib/ui/entry.js';
import { findRepo, gitOut } from './lib/git/runner.js';
import { localUpstreamOf, mainBranchOf } from './lib/git/main-branch.js';
import { exitWithProblem, formatProblem, shellQuote } from './lib/ui/problem.js';
import { samePath } from './lib/files/same-path.js';
import { refuseIfOwned } from './lib/worker/owner.js';
import { readDecisionFile, type DecisionFile } from './lib/steps/decision-file.js';
import { writeSessionRecord } from './lib/steps/session-record.js';
import { runDecision, type RunDecisionResult } from './lib/agents/run-decision.js';
import { describeJob } from './lib/agents/job-messages.js';
import { stopSessionsOnSignals } from './lib/session/stop-on-signal.js';

const spec = { command: 'coven run-agent', usage, string: ['decision', 'out', 'worktree', 'permission-mode', 'timeout'], passThrough: true };

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine(argv, spec);
  if (cl.kind === 'exit') return cl.code;
  const args = cl.args;
  const decisionFile = args.decision as string | undefined;
  const out = args.out as string | undefined;
  if (!decisionFile || !out) return usageError(spec, `${decisionFile ? '--out' : '--decision'} is required`).code;
  const timeout = args.timeout === undefined ? undefined : parseTimeoutMinutes(args.timeout as string);
  if (timeout === null) return usageError(spec, TIMEOUT_MINUTES_RULE).code;
  const outProblem = out === undefined ? null : await writeTargetProblem(out);
  if (outProblem) return usageError(spec, `--out ${outProblem}`).code;

  const where = (args.worktree as string | undefined) ?? process.cwd();
  const repo = await findRepo(where);
  if (repo.kind !== 'repo') return exitWithProblem(2, { what: `${where} is not inside a git work tree.`, next: ['cd into the worker worktree (coven spawn prints its path), or pass --worktree DIR'] });
  const worktree = repo.paths.toplevel;
  const refused = await refuseIfOwned(repo.paths, 6, 'run an agent in', () => `coven run-agent ${argv.map(shellQuote).join(' ')}`);
  if (refused !== null) return refused;
  const branch = await gitOut(worktree, ['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '');
  if (!branch) return exitWithProblem(2, { what: `${worktree} is on no branch (detached HEAD): an agent's commits would belong to no branch.`, next: [`git -C ${shellQuote(worktree)} switch <its branch>`] });

  const read = await readDecisionFile(decisionFile);
  if (read.kind === 'bad') return exitWithProblem(6, { what: `the decision is refused: ${read.problem}`, kept: 'Nothing was run.', next: ['coven dispatch --out FILE   (writes a decision)'] });
  const decision = read.decision;
  if (decision.kind === 'run' && !samePath(decision.worktree, worktree)) {
    return exitWithProblem(6, { what: `the decision in ${decisionFile} was made for the worktree ${decision.worktree}, not ${worktree}.`, kept: 'Nothing was run.', next: [`cd ${shellQuote(decision.worktree)}   (and run it there), or coven dispatch --out FILE here`] });
  }

  const stopper = stopSessionsOnSignals();
  const result = await runDecision({
    decision,
    worktree,
    branch,
    stateDir: repo.paths.stateDir,
    worker: decision.worker,
    permissionMode: args['permission-mode'] as string | undefined,
    extraArgs: (args['--'] as string[] | undefined) ?? [],
    timeoutMs: timeout === undefined ? undefined : timeout * 60_000,
    display: (line) => process.stdout.write(`${line}\n`),
    onSession: stopper.onSession,
    signal: stopper.signal,
  });
  return report(result, { decision, decisionFile, out, worktree, branch, mainWorktree: repo.paths.mainWorktree, main: (await localUpstreamOf(worktree, branch)) ?? (await mainName(repo.paths)) });
}

interface Context {
  decision: DecisionFile;
  decisionFile: string;
  out: string;
  worktree: string;
  branch: string;
  main: string;
  mainWorktree: string;
}

async function report(r: RunDecisionResult, c: Context): Promise<number> {
  switch (r.kind) {
    case 'sleep':
      process.stdout.write(`coven: the decision in ${c.decisionFile} is to sleep (${r.reason}); nothing was run.\n`);
      return 10;
    case 'refused':
      return exitWithProblem(6, { what: `the decision in ${c.decisionFile} is refused by ${c.worktree}/.coven/agents:\n${r.problems.map((p) => `  ${p}`).join('\n')}`, kept: 'Nothing was run.', next: ['coven agents   (the agents and their arguments)', 'coven dispatch --out FILE   (a new decision)'] });
    case 'aborted':
      process.stderr.write('coven: run-agent stopped while waiting for a slot of the agent; nothing was run.\n');
      return 130;
    case 'ran':
      break;
  }
  const rec = r.record;
  await writeSessionRecord(c.out, rec);
  for (const p of describeJob(r.job, { agent: r.agent.name, main: c.main, mainWorktree: c.mainWorktree })) process.stderr.write(`${p}\n`);
  const what = `${r.agent.name}${describeArgs(r.args)}`;
  const kept = rec.kept.length > 0 ? ` Work it left aside is kept as ${rec.kept.join(', ')}.` : '';
  if (rec.outcome === 'success') {
    process.stdout.write(`coven: ${what} finished; its commits are on ${c.branch}, session ${rec.session_id} is recorded in ${c.out}.${kept}\n`);
    return 0;
  }
  process.stderr.write(
    formatProblem({
      what: `the session of ${what} did not succeed (${rec.outcome}): ${rec.detail.replace(/^✗\s*/, '')}`,
      kept: `Whatever it committed stays on ${c.branch}; the session is recorded in ${c.out}.${kept}`,
      next: [`coven land --keep   (lands what it committed)`, `coven run-agent --decision ${shellQuote(c.decisionFile)} --out ${shellQuote(c.out)}   (runs it again)`],
    }) + '\n',
  );
  return rec.outcome === 'aborted' ? 130 : 5;
}

function describeArgs(args: Record<string, string>): string {
  const list = Object.entries(args).map(([k, v]) => `${k}: ${v}`);
  return list.length > 0 ? ` (${list.join(', ')})` : '';
}


async function mainName(paths: Parameters<typeof mainBranchOf>[0]): Promise<string> {
  const m = await mainBranchOf(paths);
  return m.kind === 'branch' ? m.name : 'main';
}


runAsEntry(import.meta.url, main);
