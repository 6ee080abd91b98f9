// suite: long
// chaos-watch — the chaos driver's watch (test/helpers/chaos-watch.ts) must catch what it
// is there for: a dead holder's lock that no waiting worker breaks, a lock left by a
// worker that was stopped rather than killed, and main moving backwards.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { currentProcess } from '../scripts/lib/locks/process-identity.js';
import { newWorkerState, writeWorkerState } from '../scripts/lib/worker/state.js';
import { ChaosWatch } from './helpers/chaos-watch.js';
import { commitFile, sh, tempDir, tempRepo } from './helpers/repo.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pid that was just used by a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

/** A state dir whose locks/<lock> names a dead holder; returns its pid. */
async function deadLock(stateDir: string, lock: string): Promise<number> {
  const me = currentProcess();
  const pid = await deadPid();
  mkdirSync(join(stateDir, 'locks'), { recursive: true });
  writeFileSync(join(stateDir, 'locks', lock), JSON.stringify({ worker: 'w9', pid, host: me.host, start: null, since: new Date().toISOString(), token: `t-${lock}` }) + '\n');
  return pid;
}

test('a dead holder’s lock that a live worker waits for, and nobody breaks, is a problem; one nobody waits for is not', async () => {
  const stateDir = tempDir();
  await deadLock(stateDir, 'dispatch');
  await deadLock(stateDir, 'land');
  // a live worker (this process) waiting for the dispatch lock; nobody is landing
  await writeWorkerState(stateDir, { ...newWorkerState({ name: 'w1', branch: 'coven/w1', worktree: '/nowhere' }), phase: 'dispatching' });
  const watch = new ChaosWatch(stateDir, stateDir, Date.now(), 200);
  await watch.sample();
  assert.equal(watch.problems, []);
  await sleep(300);
  await watch.sample();
  assert.equal(watch.problems.length, 1, watch.problems.join('\n'));
  assert.match(watch.problems[0]!, /lock dispatch, held by w9 .* was not broken/);
  assert.equal(watch.deadLocks.map((d) => [d.lock, d.brokenAfterMs]), [['dispatch', null], ['land', null]]);
});

test('a dead holder’s lock that goes away counts as broken, with how long it took', async () => {
  const stateDir = tempDir();
  await deadLock(stateDir, 'dispatch');
  const watch = new ChaosWatch(stateDir, stateDir, Date.now());
  await watch.sample();
  rmSync(join(stateDir, 'locks', 'dispatch')); // what a waiter does
  await watch.sample();
  assert.equal(watch.deadLocks.length, 1);
  assert.ok(watch.deadLocks[0]!.brokenAfterMs !== null);
});

test('once every worker exited, a lock may be held only by a worker the driver killed', async () => {
  const stateDir = tempDir();
  const pid = await deadLock(stateDir, 'land');
  const watch = new ChaosWatch(stateDir, stateDir, Date.now());
  assert.equal(await watch.leftBeforeGc(new Set([pid])), []);
  const problems = await watch.leftBeforeGc(new Set());
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /lock land is held by w9 .*stopped, not killed/);
});

test('main moving backwards is caught from the tips seen and from its reflog; moving forward is not', async () => {
  const repo = await tempRepo();
  const watch = new ChaosWatch(repo, join(repo, '.git', 'coven'), Date.now());
  await watch.recordMainTip();
  await commitFile(repo, 'a.txt', 'a\n', 'a');
  await watch.recordMainTip();
  await commitFile(repo, 'b.txt', 'b\n', 'b');
  assert.equal(await watch.checkMainForward(), []);

  await watch.recordMainTip();
  await sh(repo, 'reset', '-q', '--hard', 'HEAD~1');
  await commitFile(repo, 'c.txt', 'c\n', 'c');
  await watch.recordMainTip();
  const problems = await watch.checkMainForward();
  assert.ok(problems.some((p) => /seen by the watch/.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /main's reflog has a move .* reset/.test(p)), problems.join('\n'));
});

test.run();
