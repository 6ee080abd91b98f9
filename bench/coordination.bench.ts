// coordination — how fast the file-based coordination between workers is:
//   1. wake latency: `git commit` on main (hooks installed) → waitForMainToMove resolves,
//      with both signals, the hook's wake file alone, and the ref watches alone;
//   2. what the hooks add to a `git commit` (with vs without, and the hook run alone);
//   3. dispatch-lock hand-off with 8 contending processes (release → next acquire).
// Prints medians and p95 over ≥30 trials each; never asserts.
//   env: COVEN_BENCH_TRIALS (default 40)

import { execFile, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { installHooks } from '../scripts/lib/hooks/install.js';
import { dispatchLockPath } from '../scripts/lib/locks/dispatch-lock.js';
import { waitForMainToMove, type WaitForMainOptions } from '../scripts/lib/worker/wait-for-main.js';
import { distRoot, sh, tempDir, tempRepo } from '../test/helpers/repo.js';

const trials = Math.max(30, Number(process.env.COVEN_BENCH_TRIALS ?? 40));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
}
const ms = (x: number) => `${x.toFixed(1)} ms`;
const summary = (xs: number[]) => `p50 ${ms(quantile(xs, 0.5))}  p95 ${ms(quantile(xs, 0.95))}  (n=${xs.length})`;

function gitCommitAsync(repo: string): Promise<void> {
  return new Promise((resolve, reject) => execFile('git', ['commit', '-q', '--allow-empty', '-m', 'bench'], { cwd: repo }, (err) => (err ? reject(err) : resolve())));
}

async function wakeLatency(label: string, watch: WaitForMainOptions['watch']): Promise<void> {
  const repo = await tempRepo('wake');
  await installHooks(repo);
  const toWake: number[] = [];
  const afterExit: number[] = [];
  const commitOnly: number[] = [];
  for (let i = 0; i < trials; i++) {
    const baseline = await sh(repo, 'rev-parse', 'HEAD');
    const woke = waitForMainToMove({ repo, mainBranch: 'main', baseline, safetyIntervalMs: 3_600_000, ...(watch ? { watch } : {}) }).then(() => performance.now());
    await sleep(30); // let the waiter check once and set up its watches
    const t0 = performance.now();
    const exited = gitCommitAsync(repo).then(() => performance.now());
    const [t1, t2] = await Promise.all([woke, exited]);
    toWake.push(t1 - t0);
    commitOnly.push(t2 - t0);
    afterExit.push(Math.max(0, t1 - t2));
  }
  console.log(`wake latency, ${label}`);
  console.log(`  commit start → waiter resolved  ${summary(toWake)}`);
  console.log(`  git commit exit → resolved      ${summary(afterExit)}`);
  console.log(`  git commit alone (for scale)    ${summary(commitOnly)}`);
}

function timeSync(cmd: string, args: string[], cwd: string): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`);
  return performance.now() - t0;
}

async function commitOverhead(): Promise<void> {
  const plain = await tempRepo('plain');
  const hooked = await tempRepo('hooked');
  await installHooks(hooked);
  const without: number[] = [];
  const withHooks: number[] = [];
  const hookAlone: number[] = [];
  const commit = ['commit', '-q', '--allow-empty', '-m', 'bench'];
  for (let i = 0; i < 5; i++) timeSync('git', commit, plain), timeSync('git', commit, hooked); // warm up
  for (let i = 0; i < trials; i++) {
    without.push(timeSync('git', commit, plain));
    withHooks.push(timeSync('git', commit, hooked));
    hookAlone.push(timeSync(join(hooked, '.git', 'hooks', 'post-commit'), [], hooked));
  }
  const delta = quantile(withHooks, 0.5) - quantile(without, 0.5);
  console.log('git commit, with vs without coven hooks');
  console.log(`  without hooks     ${summary(without)}`);
  console.log(`  with hooks        ${summary(withHooks)}`);
  console.log(`  added (medians)   ${ms(delta)}  (×${(quantile(withHooks, 0.5) / quantile(without, 0.5)).toFixed(2)})`);
  console.log(`  post-commit alone ${summary(hookAlone)}  (sh + one git rev-parse + touch)`);
}

async function lockHandOff(): Promise<void> {
  const state = tempDir();
  const path = dispatchLockPath(state);
  const holder = join(distRoot, 'test', 'fixtures', 'lock-holder.js');
  const procs = 8;
  const rounds = Math.ceil((trials + 1) / procs) + 1;
  const events: Array<{ t: number; kind: 'acquired' | 'released' }> = [];
  await Promise.all(
    Array.from({ length: procs }, (_, i) => {
      const child = spawn(process.execPath, [holder, JSON.stringify({ path, owner: `b${i}`, holdMs: 10, rounds })], { stdio: ['ignore', 'pipe', 'inherit'] });
      let buf = '';
      child.stdout.on('data', (d: Buffer) => (buf += d.toString()));
      return new Promise<void>((resolve) =>
        child.on('exit', () => {
          for (const line of buf.split('\n')) {
            const m = /^(acquired) \S+ ([\d.]+)$|^(released) ([\d.]+)$/.exec(line);
            if (m) events.push({ kind: (m[1] ?? m[3]) as 'acquired' | 'released', t: Number(m[2] ?? m[4]) });
          }
          resolve();
        }),
      );
    }),
  );
  events.sort((a, b) => a.t - b.t);
  const handoffs: number[] = [];
  let lastRelease: number | null = null;
  for (const e of events) {
    if (e.kind === 'released') lastRelease = e.t;
    else if (lastRelease !== null) {
      handoffs.push(e.t - lastRelease);
      lastRelease = null;
    }
  }
  console.log(`dispatch lock hand-off, ${procs} processes contending (release → next holder acquired)`);
  console.log(`  ${summary(handoffs)}`);
}

console.log(`trials: ${trials}`);
await wakeLatency('hooks + ref watches (default)', undefined);
await wakeLatency('hook wake file only (ref watches off)', { refs: false });
await wakeLatency('ref watches only (no wake-file watch)', { wake: false });
await commitOverhead();
await lockHandOff();
