// The sleep herd guard with real workers: one commit wakes every sleeping worker; only
// the first needs a dispatch session, the others reuse its decision for that main tip.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { coven, commitFile, tempDir } from './helpers/repo.js';
import { covenRepo } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog } from './helpers/fake-claude.js';
import { dispatchRun, isDispatch, outputOf, phaseOf, shDispatchAgent, startWorker, stopAll, waitFor, workerState, writeDispatchScript } from './helpers/worker-procs.js';
import type { WorkerState } from '../scripts/lib/worker-state.js';

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

test.run();
