#!/usr/bin/env node
// dispatch — ask the dispatch agent what this worker should do next.
//
// Run inside a worktree. Takes the repository's dispatch lock (one dispatch at a time
// across all workers), reloads the agents from this worktree, runs a session of
// `.coven/agents/dispatch.md` with coven's protocol appended (the `<dispatch>` syntax,
// the catalog of agents, what the other workers are doing), then parses and validates
// the last `<dispatch>` block. An invalid block gets a corrective resume of the same
// session, at most 3 times. Nothing is ever run from an unvalidated answer.
//   args:   --out FILE        write the decision as JSON here (default: print it)
//           --worker NAME     who is asking (lock owner, log folder; default: from the branch)
//           --permission-mode M, --timeout MINUTES, --no-lock, -- extra claude args
//   env:    COVEN_CLAUDE      the agent CLI (default: claude on PATH)
//   files:  <state dir>/logs/<worker>/<n>-dispatch.jsonl (raw stream of each session)
//   exit:   0 a decision (run or sleep) · 1 still invalid after 3 corrections
//           3 the session failed · 4 no usable dispatch agent · 2 not in a repo · 64 usage

import { writeFile } from 'node:fs/promises';
import { parseCommandLine } from './lib/ui/command-line.js';
import { runAsEntry } from './lib/ui/entry.js';
import { describeWait } from './lib/locks/dispatch-lock.js';
import { decisionJson, describeAgentProblems, dispatch, MAX_CORRECTIONS } from './lib/agents/dispatch.js';
import { findRepo, gitOut } from './lib/git/runner.js';
import { formatProblem } from './lib/ui/problem.js';
import type { SessionHandle } from './lib/session/runner.js';
import { renderOutcome } from './lib/session/render.js';

const usage = `usage: coven dispatch [--out FILE] [--worker NAME] [--permission-mode MODE]
                      [--timeout MINUTES] [--no-lock] [-- <extra claude args>]

Asks the dispatch agent (.coven/agents/dispatch.md) what to do next, in the worktree you
are in, and prints (or writes to FILE) the validated decision as JSON:
  {"kind":"run","agent":"plan","args":{"issue":"issues/x.md"},"reasoning":…}
  {"kind":"sleep","reason":"…","reasoning":…}
Takes the repository's dispatch lock first, so only one dispatch runs at a time.

  --out FILE            write the decision to FILE instead of printing it
  --worker NAME         who asks (lock owner, log folder; default: from a coven/NAME
                        branch, else manual-<pid>)
  --permission-mode M   claude's --permission-mode (default acceptEdits)
  --timeout MINUTES     wall-clock limit of the session (default 60)
  --no-lock             do not take the dispatch lock
  -- <args>             extra arguments for claude

exit: 0 decision · 1 invalid after ${MAX_CORRECTIONS} corrections · 3 session failed
      4 no usable dispatch agent · 2 not in a git repository · 64 bad usage
      130 stopped (Ctrl-C) before a decision
`;

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine(argv, { command: 'coven dispatch', usage, string: ['out', 'worker', 'permission-mode', 'timeout'], boolean: ['lock'], default: { lock: true }, passThrough: true });
  if (cl.kind === 'exit') return cl.code;
  const args = cl.args;
  const timeoutMin = args.timeout === undefined ? undefined : Number(args.timeout);
  if (timeoutMin !== undefined && !(timeoutMin > 0)) {
    process.stderr.write(`coven dispatch: --timeout takes a number of minutes\n`);
    return 64;
  }
  const repo = await findRepo(process.cwd());
  if (repo.kind !== 'repo') {
    process.stderr.write(formatProblem({ what: `${process.cwd()} is not inside a git worktree.`, next: ['cd into a worktree of your repository and run coven dispatch again'] }) + '\n');
    return 2;
  }
  const worker = (args.worker as string | undefined) ?? (await workerFromBranch(repo.paths.toplevel)) ?? `manual-${process.pid}`;
  const display = (line: string) => process.stderr.write(`${line}\n`);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let session: SessionHandle | null = null;
  controller.signal.addEventListener('abort', () => session?.abort());

  const outcome = await dispatch({
    worktree: repo.paths.toplevel,
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
    onSession: (s) => {
      session = s;
    },
    signal: controller.signal,
  });
  switch (outcome.kind) {
    case 'decided': {
      const json = JSON.stringify(decisionJson(outcome), null, 2) + '\n';
      if (args.out) await writeFile(args.out as string, json);
      else process.stdout.write(json);
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
  }
}

async function workerFromBranch(worktree: string): Promise<string | null> {
  const branch = await gitOut(worktree, ['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '');
  return branch.startsWith('coven/') ? branch.slice('coven/'.length) : null;
}

runAsEntry(import.meta.url, main);
