import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock, dispatchLockPath } from '../scripts/lib/locks/dispatch-lock.js';
import { newWorkerState, writeWorkerState, type WorkerState } from '../scripts/lib/worker/state.js';
import { renderStatus, collectStatus } from '../scripts/status.js';
import { findRepo } from '../scripts/lib/git/runner.js';
import { coven, covenBin, sh, tempDir, tempRepo } from './helpers/repo.js';
import { ptyUnavailable, startPty } from './helpers/pty.js';

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

const stateDir = (repo: string) => join(repo, '.git', 'coven');

/** A worker worktree on coven/<name> and its state file; dead unless `alive`. */
async function worker(repo: string, name: string, opts: { alive?: boolean; branch?: string; over?: Partial<WorkerState> } = {}): Promise<string> {
  const branch = opts.branch ?? `coven/${name}`;
  const wt = join(tempDir(), name);
  await sh(repo, 'worktree', 'add', '-q', '-b', branch, wt, 'main');
  const s = { ...newWorkerState({ name, branch, worktree: wt }), ...opts.over };
  if (!opts.alive) s.pid = await deadPid();
  await writeWorkerState(stateDir(repo), s);
  return wt;
}

test('status shows workers, dead ones as dead, the lock holder, sleepers and corrupt files', async () => {
  const repo = await tempRepo();
  const tip = await sh(repo, 'rev-parse', 'HEAD');
  await worker(repo, 'runner', { alive: true, over: { phase: 'running', agent: 'implement', args: { issue: 'issues/a.md' }, landed: 3, cost_usd: 1.5 } });
  await worker(repo, 'sleeper', { alive: true, over: { phase: 'sleeping', waiting_on: tip } });
  await worker(repo, 'corpse', { over: { phase: 'running', agent: 'plan' } });
  writeFileSync(join(stateDir(repo), 'workers', 'broken.json'), '');
  const lock = await acquireLock({ path: dispatchLockPath(stateDir(repo)), owner: 'runner' });
  const found = await findRepo(repo);
  if (found.kind !== 'repo') return assert.unreachable();
  const text = renderStatus(await collectStatus(found.paths));
  assert.match(text, /runner\s+running\s+implement issue=issues\/a\.md\s+\d+m?s\s+3\s+\$1\.50/);
  assert.match(text, /corpse\s+dead \(was running\)/);
  assert.match(text, /dispatch lock: held by runner for \d+s/);
  assert.match(text, new RegExp(`sleeper sleeps until main moves from ${tip.slice(0, 10)}`));
  assert.match(text, /corrupt state file .*broken\.json: empty file/);
  const json = await coven(['status', '--json'], { cwd: repo });
  const parsed = JSON.parse(json.stdout) as { workers: Array<{ name: string; liveness: string }>; corrupt: unknown[]; locks: Array<{ name: string; kind: string }> };
  assert.equal(parsed.workers.map((w) => [w.name, w.liveness]), [['corpse', 'dead'], ['runner', 'alive'], ['sleeper', 'alive']]);
  assert.is(parsed.corrupt.length, 1);
  assert.equal(parsed.locks.map((l) => [l.name, l.kind]), [['dispatch', 'held']]);
  if (lock.kind === 'acquired') await lock.release();
});

test('status --watch reprints when a worker state changes (plain output off a terminal)', async () => {
  const repo = await tempRepo();
  const child = spawn(process.execPath, [covenBin, 'status', '--watch'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const saw = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${re}; got:\n${out}`)), 15_000);
      const look = () => re.test(out) && (clearTimeout(t), resolve());
      child.stdout.on('data', (d: Buffer) => ((out += d.toString()), look()));
      look();
    });
  await saw(/no workers/);
  await worker(repo, 'newcomer', { alive: true, over: { phase: 'dispatching' } });
  await saw(/newcomer\s+dispatching/);
  assert.not.match(out, /\x1b\[/, 'no terminal escapes off a terminal');
  child.kill('SIGINT');
  const code = await new Promise((r) => child.on('exit', r));
  assert.is(code, 0);
});

test('status --watch on a terminal redraws the table in place when a worker state changes', async () => {
  if (ptyUnavailable) return void process.stdout.write(`skipped: status --watch on a terminal: ${ptyUnavailable}\n`);
  const repo = await tempRepo();
  const pty = startPty(process.execPath, [covenBin, 'status', '--watch'], { cwd: repo });
  try {
    await pty.waitFor(/no workers/);
    const mark = pty.output().length;
    await worker(repo, 'newcomer', { alive: true, over: { phase: 'running', agent: 'plan', args: { issue: 'a.md' } } });
    await pty.waitFor(/\x1b\[H\x1b\[2J[^\x1b]*newcomer +running +plan issue=a\.md/, mark);
    pty.type('\x03');
    assert.is(await pty.exit, 0, pty.output());
  } finally {
    pty.close();
  }
});

test.run();
