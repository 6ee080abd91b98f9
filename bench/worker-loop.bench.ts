// worker-loop — how fast a real sleeping `coven worker` wakes when the user commits on
// main (hooks installed): from `git commit` in the main worktree to
//   1. the worker's state file leaving phase `sleeping` (it is dispatching), and
//   2. its next dispatch session starting (the fake claude's own start time, from its log);
// with one worker, and with three sleeping workers (the first to leave sleep; and how many
// dispatch sessions one commit costs: the herd guard should keep it at one).
// The fake claude answers every dispatch with sleep (scripted dispatch, no issues).
// Prints medians and p95 over ≥30 trials; never asserts.
//   env: COVEN_BENCH_TRIALS (default 40)

import { execFile } from 'node:child_process';
import { readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { coven, tempDir } from '../test/helpers/repo.js';
import { covenRepo } from '../test/helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog } from '../test/helpers/fake-claude.js';
import { dispatchRun, isDispatch, phaseOf, shDispatchAgent, startWorker, stopAll, waitFor, writeDispatchScript, type WorkerProc } from '../test/helpers/worker-procs.js';

const trials = Math.max(30, Number(process.env.COVEN_BENCH_TRIALS ?? 40));

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
}
const ms = (x: number) => `${x.toFixed(1)} ms`;
const summary = (xs: number[]) => `p50 ${ms(quantile(xs, 0.5))}  p95 ${ms(quantile(xs, 0.95))}  max ${ms(Math.max(...xs))}  (n=${xs.length})`;

function gitCommit(repo: string, n: number): Promise<void> {
  return new Promise((resolve, reject) => execFile('git', ['commit', '-q', '--allow-empty', '-m', `user commit ${n}`], { cwd: repo }, (err) => (err ? reject(err) : resolve())));
}

/** Resolves (with performance.now()) when any of `names` has a state file whose phase is not sleeping. */
function firstToLeaveSleep(repo: string, names: string[]): { done: Promise<number>; close: () => void } {
  const dir = join(repo, '.git', 'coven', 'workers');
  let resolveDone!: (t: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  const look = (): void => {
    for (const n of names) {
      try {
        const phase = (JSON.parse(readFileSync(join(dir, `${n}.json`), 'utf8')) as { phase: string }).phase;
        if (phase !== 'sleeping') return resolveDone(performance.now());
      } catch {
        // a write in progress is a rename: the next event reads the new file
      }
    }
  };
  const watcher = watch(dir, look); // every state write is a rename into this folder
  return { done, close: () => watcher.close() };
}

async function run(workerCount: number): Promise<void> {
  const repo = await covenRepo({ '.coven/agents/dispatch.md': shDispatchAgent }, 'bench');
  const dir = tempDir('coven-bench-loop-');
  const env = { ...fakeClaudeEnv([dispatchRun(writeDispatchScript(dir, join(dir, 'choices.txt')))], dir), COVEN_WORKTREE_BASE: join(dir, 'worktrees'), COVEN_SAFETY_INTERVAL_MS: '3600000' };
  await coven(['hooks', 'install'], { cwd: repo });
  const names = Array.from({ length: workerCount }, (_, i) => `w${i + 1}`);
  const workers: WorkerProc[] = names.map((n) => startWorker(repo, n, env));
  const allAsleep = () => waitFor(() => names.every((n) => phaseOf(repo, n) === 'sleeping'), 'every worker asleep', 120_000);
  const toLeave: number[] = [];
  const exitToLeave: number[] = [];
  const toSession: number[] = [];
  const commitAlone: number[] = [];
  const settle: number[] = [];
  const sessionsPerCommit: number[] = [];
  try {
    await allAsleep();
    for (let i = 0; i < trials; i++) {
      const before = readFakeLog(env).filter(isDispatch).length;
      const watcher = firstToLeaveSleep(repo, names);
      const wallStart = Date.now();
      const t0 = performance.now();
      const committed = gitCommit(repo, i).then(() => performance.now());
      const [left, exited] = await Promise.all([watcher.done, committed]);
      watcher.close();
      toLeave.push(left - t0);
      exitToLeave.push(Math.max(0, left - exited));
      commitAlone.push(exited - t0);
      // back to sleep, and every session of this round logged (a fake logs when it ends)
      await waitFor(() => names.every((n) => phaseOf(repo, n) === 'sleeping') && readFakeLog(env).filter(isDispatch).length > before, 'asleep again', 120_000);
      settle.push(performance.now() - t0);
      const round = readFakeLog(env).filter(isDispatch).slice(before);
      sessionsPerCommit.push(round.length);
      const first = Math.min(...round.map((c) => Date.parse(c.startedAt)));
      toSession.push(first - wallStart);
    }
  } finally {
    await stopAll(workers);
  }
  console.log(`${workerCount} sleeping worker${workerCount > 1 ? 's' : ''}, woken by a user's git commit on main (hooks installed)`);
  console.log(`  commit start → ${workerCount > 1 ? 'first ' : ''}worker leaves sleeping   ${summary(toLeave)}`);
  console.log(`  git commit exit → leaves sleeping        ${summary(exitToLeave)}`);
  console.log(`  commit start → dispatch session started  ${summary(toSession)}  (the fake's start, ms clock)`);
  console.log(`  git commit alone (for scale)             ${summary(commitAlone)}`);
  console.log(`  commit start → all asleep again          ${summary(settle)}`);
  if (workerCount > 1) console.log(`  dispatch sessions per commit: ${[...new Set(sessionsPerCommit)].sort().map((k) => `${k} in ${sessionsPerCommit.filter((x) => x === k).length} rounds`).join(', ')}`);
}

await run(1);
await run(3);
