// How a worker ends: --max-idle, --max-cycles, a second signal (exit 130), an unexpected
// error (exit 1), all with nothing unlanded, so worktree and branch go. (A first signal
// mid-work: worker-stop.test.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, commitFile, sh } from './helpers/repo.js';
import type { FakeRun } from './helpers/fake-claude.js';
import { childPids, dispatchRun, implementRun, outputOf, phaseOf, pidAlive, startWorker, waitFor, loopRepo, gone } from './helpers/worker-procs.js';

const setUp = (issues: string[], runs: (dispatch: string, repo: string) => FakeRun[]) => loopRepo(issues, runs, 'coven-exit-');


test('--max-idle 2: sleeps, is woken by a commit, finds nothing again and exits 0, leaving nothing behind', async () => {
  const { repo, env, worktree } = await setUp([], (d) => [dispatchRun(d)]);
  const w1 = startWorker(repo, 'w1', env, ['--max-idle', '2']);
  await waitFor(() => phaseOf(repo, 'w1') === 'sleeping', 'w1 asleep', 60_000, () => outputOf([w1]));
  await commitFile(repo, 'notes.txt', 'hello\n');
  const end = await w1.exited;
  assert.is(end.code, 0, outputOf([w1]));
  assert.is(w1.stdout().match(/w1 sleeps: no free issue/g)?.length, 2);
  assert.ok(await gone(repo, worktree));
});

test('--max-cycles 2: two jobs land, then it exits 0 with the third issue untouched', async () => {
  const { repo, env, worktree } = await setUp(['a', 'b', 'c'], (d) => [dispatchRun(d), implementRun('a'), implementRun('b'), implementRun('c')]);
  const w1 = startWorker(repo, 'w1', env, ['--max-cycles', '2']);
  const end = await w1.exited;
  assert.is(end.code, 0, outputOf([w1]));
  assert.equal((await sh(repo, 'log', '--format=%s', '-2', 'main')).split('\n'), ['implement b', 'implement a']);
  assert.ok(existsSync(join(repo, 'issues', 'c.md')));
  assert.ok(await gone(repo, worktree));
});

test('a second signal stops at once (exit 130), ending the session even if it ignores SIGTERM and freeing the lock; gc cleans up', async () => {
  const { repo, env } = await setUp([], () => [{ match: { promptIncludes: 'Choose the next job' }, ignoreSigterm: true, steps: [{ sleep_ms: 600_000 }] }]);
  const w1 = startWorker(repo, 'w1', env);
  const why = () => outputOf([w1]);
  await waitFor(() => phaseOf(repo, 'w1') === 'dispatching' && childPids(w1.pid).length > 0, 'w1 in its dispatch session', 60_000, why);
  const sessions = childPids(w1.pid);
  w1.child.kill('SIGINT');
  await waitFor(() => /stopping once the current step is safe/.test(w1.stderr()), 'the first signal is acknowledged', 60_000, why);
  w1.child.kill('SIGINT');
  const end = await w1.exited;
  assert.is(end.code, 130, why());
  assert.match(w1.stderr(), /stopping now/);
  await waitFor(() => sessions.every((p) => !pidAlive(p)), 'the session ended with the worker', 60_000);
  const status = await coven(['status'], { cwd: repo });
  assert.match(status.stdout, /dispatch lock: free/, 'the lock went with the process: nobody has to break it');
  // the first signal may already have recorded phase `stopping` before the second ended it
  assert.match(status.stdout, /w1\s+dead \(was (dispatching|stopping)\)/);
  const gc = await coven(['gc'], { cwd: repo });
  assert.is(gc.code, 0, gc.stdout);
  assert.match(gc.stdout, /w1: removed worktree/);
});

test('an unexpected error (a plain file where its step files folder goes) exits 1 and says so, not "stopped; everything it made is on main"', async () => {
  const { repo, env, worktree } = await setUp(['a'], (d) => [dispatchRun(d), implementRun('a')]);
  // (a worker just started takes no dispatch lock, so the locks folder is not reached before the job)
  mkdirSync(join(repo, '.git', 'coven', 'steps'), { recursive: true });
  writeFileSync(join(repo, '.git', 'coven', 'steps', 'w1'), 'not a folder\n');
  const w1 = startWorker(repo, 'w1', env, ['--once']);
  const end = await w1.exited;
  assert.is(end.code, 1, outputOf([w1]));
  assert.match(w1.stderr(), /unexpected error in worker w1: .*EEXIST/);
  assert.match(w1.stderr(), /w1 stopped on an unexpected error: EEXIST.*\n\s+It left nothing unlanded .*so its worktree and branch are removed\.\n\s+Next:\n\s+coven worker --name w1/);
  assert.not.match(w1.stdout() + w1.stderr(), /everything it made is on main/);
  assert.ok(await gone(repo, worktree), 'it removed only what held nothing');
});

test('--help documents the exit codes', async () => {
  const r = await coven(['worker', '--help']);
  assert.is(r.code, 0);
  for (const code of [/0 done/, /1 stopped on an unexpected error/, /2 could not start/, /3 stopped with work kept/, /4 dispatch failed/, /130 stopped at once/, /64 bad usage/]) assert.match(r.stdout, code);
});

test.run();
