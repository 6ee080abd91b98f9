// The sleep herd guard with real workers: one commit wakes every sleeping worker; only
// the first needs a dispatch session, the others reuse its decision for that main tip.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { coven, commitFile, sh, tempDir } from './helpers/repo.js';
import { covenRepo } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog } from './helpers/fake-claude.js';
import { dispatchRun, implementRun, isDispatch, loopRepo, outputOf, phaseOf, shDispatchAgent, startWorker, stopAll, waitFor, workerState, writeDispatchScript } from './helpers/worker-procs.js';
import type { WorkerState } from '../scripts/lib/worker/state.js';

test('3 sleeping workers woken by one commit: one dispatch session; the others go back to sleep on its decision', async () => {
  const repo = await covenRepo({ '.coven/agents/dispatch.md': shDispatchAgent });
  const dir = tempDir('coven-herd-');
  const env = { ...fakeClaudeEnv([dispatchRun(writeDispatchScript(dir, join(dir, 'choices.txt')))], dir), COVEN_WORKTREE_BASE: join(dir, 'worktrees'), COVEN_SAFETY_INTERVAL_MS: '5000' };
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0);
  const names = ['w1', 'w2', 'w3'];
  const workers = names.map((n) => startWorker(repo, n, env));
  const why = () => outputOf(workers);
  let ends: Awaited<ReturnType<typeof stopAll>> = [];
  const state = (n: string) => workerState(repo, n) as WorkerState;
  const reusedCount = () => workers.reduce((k, w) => k + (w.stdout().match(/\(as w\d decided for this commit\)/g)?.length ?? 0), 0);
  try {
    await waitFor(() => names.every((n) => phaseOf(repo, n) === 'sleeping'), 'all three asleep', 60_000, why);
    for (const round of [1, 2, 3]) {
      const before = readFakeLog(env).filter(isDispatch).length;
      const reusedBefore = reusedCount();
      const tip = await commitFile(repo, 'notes.txt', `round ${round}\n`, `an unrelated commit on main (${round})`);
      await waitFor(() => names.every((n) => phaseOf(repo, n) === 'sleeping' && state(n).waiting_on === tip), `round ${round}: all three asleep again on the new tip`, 60_000, why);
      const sessions = readFakeLog(env).filter(isDispatch).length - before;
      assert.is(sessions, 1, `round ${round}: one dispatch session for the commit, not one per worker\n${why()}`);
      // their lines reach us through pipes, maybe after their state files: wait for them
      await waitFor(() => reusedCount() - reusedBefore >= 2, `round ${round}: two workers saying they reused the decision`, 60_000, why);
      for (const n of names) assert.is(state(n).last_sleep?.main_tip, tip);
    }
  } finally {
    ends = await stopAll(workers);
  }
  assert.equal(
    ends.map((e) => e.code),
    [0, 0, 0],
    why(),
  );
});

test('a worker whose job ends without a commit dispatches again, though another slept on this commit while it was busy', async () => {
  const giveUp = join(tempDir('coven-herd-gate-'), 'give-up');
  const { repo, env } = await loopRepo(['a'], (d) => [
    dispatchRun(d),
    // w1's first go at a gives up without a commit (once the test says so): main does not move
    { match: { promptIncludes: 'Implement the issue in issues/a.md.' }, steps: [{ wait_for_file: giveUp, timeout_ms: 120_000 }, { text: 'I could not do it.' }] },
    implementRun('a'),
  ], 'coven-herd-');
  const w1 = startWorker(repo, 'w1', env);
  const workers = [w1];
  const why = () => outputOf(workers);
  const state = (n: string) => workerState(repo, n) as WorkerState;
  let ends: Awaited<ReturnType<typeof stopAll>> = [];
  try {
    await waitFor(() => phaseOf(repo, 'w1') === 'running' && state('w1').agent === 'implement', 'w1 running on a', 60_000, why);
    workers.push(startWorker(repo, 'w2', env));
    await waitFor(() => phaseOf(repo, 'w2') === 'sleeping', 'w2 asleep: a is taken by w1', 60_000, why);
    assert.equal(state('w2').last_sleep?.busy, ['w1']);
    writeFileSync(giveUp, '');
    await waitFor(async () => (await sh(repo, 'log', '-1', '--format=%s', 'main')) === 'implement a', 'a landed by w1\'s second go', 60_000, why);
    await waitFor(() => /landed 1 commit/.test(w1.stdout()), 'w1 saying it landed', 60_000, why);
    const beforeLand = w1.stdout().slice(0, w1.stdout().search(/landed 1 commit/));
    assert.not.match(beforeLand, /sleeps:/, `w1 did not go to sleep on w2's decision before a was done\n${why()}`);
    assert.is(readFakeLog(env).filter((c) => !isDispatch(c)).length, 2, 'w1 ran the implement agent twice');
  } finally {
    ends = await stopAll(workers);
  }
  assert.equal(ends.map((e) => e.code), [0, 0], why());
});

test.run();
