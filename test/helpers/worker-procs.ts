// worker-procs — real `coven worker` processes for loop tests: start them in the
// background, read their state files, wait on conditions (never on fixed sleeps), signal
// them and collect how they ended. Also the scripted dispatch the loop tests share: a
// small sh script, run by the fake claude's `reply_from_bash`, that lists issues/ and
// picks one that no other worker (as the dispatch prompt lists them) holds.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { coven, covenBin, sh, tempDir } from './repo.js';
import { covenRepo, issueFile } from './coven-repo.js';
import { fakeClaudeEnv, type FakeInvocation, type FakeRun } from './fake-claude.js';
import type { WorkerState } from '../../scripts/lib/worker/state.js';

export interface WorkerProc {
  name: string;
  child: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** resolves when the process has exited */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `coven worker --name NAME ARGS` in `repo` (no --once unless given). */
export function startWorker(repo: string, name: string, env: Record<string, string>, args: string[] = []): WorkerProc {
  const child = spawn(process.execPath, [covenBin, 'worker', '--name', name, ...args], { cwd: repo, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
  return { name, child, pid: child.pid!, stdout: () => out, stderr: () => err, exited };
}

/** The state file of worker `name` as JSON (null: absent; 'corrupt': unreadable). */
export function workerState(repo: string, name: string): WorkerState | null | 'corrupt' {
  const file = join(repo, '.git', 'coven', 'workers', `${name}.json`);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as WorkerState;
  } catch {
    return 'corrupt';
  }
}

export function phaseOf(repo: string, name: string): string | null {
  const s = workerState(repo, name);
  return s === null || s === 'corrupt' ? null : s.phase;
}

/** Polls `cond` every 25 ms until it holds; fails with `what` (and `detail()`) after timeoutMs. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 25_000, detail: () => string = () => ''): Promise<void> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  for (;;) {
    if (await cond()) {
      if (process.env.COVEN_TEST_TIMINGS) process.stderr.write(`waited ${Date.now() - started} ms for ${what}\n`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Everything the workers printed, and what they are running now, for failure messages. */
export function outputOf(workers: WorkerProc[]): string {
  return workers.map((w) => `==== ${w.name} stdout\n${w.stdout()}\n==== ${w.name} stderr\n${w.stderr()}\n==== ${w.name} runs now\n${describeTree(w.pid)}`).join('\n');
}

/** The processes below `pid`, one line each (pid, state, command line). */
function describeTree(pid: number, depth = 0): string {
  return childPids(pid)
    .map((c) => {
      let cmd = '?';
      try {
        cmd = readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 200);
      } catch {
        // gone meanwhile
      }
      return `${'  '.repeat(depth)}${c} ${cmd}\n${describeTree(c, depth + 1)}`;
    })
    .join('');
}

export const running = (w: WorkerProc): boolean => w.child.exitCode === null && w.child.signalCode === null;

/**
 * Sends `signal` to every worker still running and waits for them all to exit. One
 * still running after `graceMs` is killed (SIGKILL): it shows as signal SIGKILL, so
 * the test fails instead of hanging.
 */
export async function stopAll(workers: WorkerProc[], signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<Array<{ code: number | null; signal: NodeJS.Signals | null }>> {
  for (const w of workers) if (running(w)) w.child.kill(signal);
  const timer = setTimeout(() => {
    for (const w of workers) if (running(w)) w.child.kill('SIGKILL');
  }, graceMs);
  try {
    return await Promise.all(workers.map((w) => w.exited));
  } finally {
    clearTimeout(timer);
  }
}

/** Pids of the processes whose parent is `pid` (from /proc). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '');
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------
// scripted dispatch

/** The dispatch agent of the loop tests: may run `sh` (the scripted dispatch below). */
export const shDispatchAgent = `---
description: chooses the next job
claude_args: ["--allowedTools=Bash(sh *)"]
---
Choose the next job. Run coven issues.
`;

/**
 * Writes the dispatch script into `dir`: it lists issues/*.md in the worktree, skips the
 * ones named in the prompt's list of other workers ("issue: issues/x.md"), and prints a
 * <dispatch> block for the first free one (appending "<issue>" to `choices`), or sleep.
 * Returns the command for `reply_from_bash`.
 */
export function writeDispatchScript(dir: string, choices: string): string {
  const file = join(dir, 'dispatch.sh');
  writeFileSync(
    file,
    `#!/bin/sh
# scripted dispatch: the first issue no other worker holds, else sleep
for f in issues/*.md; do
  [ -e "$f" ] || continue
  case "$FAKE_CLAUDE_PROMPT" in
    *"issue: $f"*) continue ;;
  esac
  echo "$f" >>'${choices}'
  printf 'I take %s.\\n<dispatch>\\nagent: implement\\nissue: %s\\n</dispatch>\\n' "$f" "$f"
  exit 0
done
printf 'Every issue is taken or none is left.\\n<dispatch>\\nsleep: no free issue\\n</dispatch>\\n'
`,
  );
  return `sh ${file}`;
}

/** The dispatch run every dispatch session of the loop tests uses. */
export function dispatchRun(command: string): FakeRun {
  return { match: { promptIncludes: 'Choose the next job' }, times: 'unlimited', steps: [{ reply_from_bash: command }] };
}

/** An implement run for issues/<id>.md: writes done/<id>.txt, git rm's the issue, commits. */
export function implementRun(id: string, extra: Partial<FakeRun> = {}): FakeRun {
  return {
    match: { promptIncludes: `Implement the issue in issues/${id}.md.` },
    steps: [{ write: { path: `done/${id}.txt`, content: `${id} is done\n` } }, { bash: `git rm -q issues/${id}.md` }, { commit: `implement ${id}` }, { text: `Implemented ${id}.` }],
    ...extra,
  };
}

export const isDispatch = (c: FakeInvocation): boolean => c.prompts[0]?.includes('Choose the next job') === true;

/** Dispatch sessions (by start) that overlap in time, as pairs of pids. */
export function overlappingSessions(calls: FakeInvocation[]): string[] {
  const sorted = [...calls].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  const overlaps: string[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (Date.parse(cur.startedAt) < Date.parse(prev.endedAt)) overlaps.push(`${prev.pid} (${prev.startedAt}…${prev.endedAt}) and ${cur.pid} (${cur.startedAt}…)`);
  }
  return overlaps;
}

/** main's history: one parent per commit (linear), subjects newest first. */
export async function mainHistory(repo: string): Promise<{ linear: boolean; subjects: string[] }> {
  const parents = (await sh(repo, 'log', '--format=%p', 'main')).split('\n');
  const subjects = (await sh(repo, 'log', '--format=%s', 'main')).split('\n');
  return { linear: parents.every((p) => p.trim().split(' ').length <= 1), subjects };
}

/**
 * A repository for real workers: the sh dispatch agent, one issue file per id, the
 * wake hooks, and the fake claude playing `runs` (given the dispatch script, which
 * records each choice in `choices`, and the repository). Worker `w1`'s worktree path.
 */
export async function loopRepo(issues: string[], runs: (dispatch: string, repo: string) => FakeRun[], prefix = 'coven-loop-') {
  const files: Record<string, string> = { '.coven/agents/dispatch.md': shDispatchAgent };
  for (const id of issues) files[`issues/${id}.md`] = issueFile(`Issue ${id}`);
  const repo = await covenRepo(files);
  const dir = tempDir(prefix);
  const choices = join(dir, 'choices.txt');
  const env = { ...fakeClaudeEnv(runs(writeDispatchScript(dir, choices), repo), dir), COVEN_WORKTREE_BASE: join(dir, 'worktrees'), COVEN_RETRY_MS: '200', COVEN_SAFETY_INTERVAL_MS: '5000' };
  const hooks = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(hooks.code, 0, hooks.stderr);
  return { repo, dir, env, choices, worktree: join(dir, 'worktrees', 'project', 'coven', 'w1') };
}

/** Worker w1 left nothing behind: no worktree, no coven/ branch, no state file. */
export const gone = async (repo: string, worktree: string): Promise<boolean> =>
  !existsSync(worktree) && (await sh(repo, 'branch', '--list', 'coven/*')) === '' && !existsSync(join(repo, '.git', 'coven', 'workers', 'w1.json'));
