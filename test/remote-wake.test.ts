// Waking in remote mode, against a real git server (git daemon on loopback): a sleeping
// `coven worker --remote origin` wakes when another machine pushes the remote's main (by
// its ls-remote poll), at once on a local commit (the local waiter runs beside the poll),
// and a remote that stops answering during the sleep is said once, never a reason to
// exit: it wakes after the server is back and main moves.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { boundedPollMs, jitteredWait, REMOTE_POLL_DEFAULT_MS, remotePollMs } from '../scripts/lib/remote/remote-poll.js';
import { waitForMainToMove } from '../scripts/lib/worker/wait-for-main.js';
import { readFakeLog } from './helpers/fake-claude.js';
import { pushFrom, remoteSetup, remoteWorker } from './helpers/remote-machines.js';
import { coven, commitFile, sh } from './helpers/repo.js';
import { startCoven } from './helpers/worker-process.js';
import { isDispatch, outputOf, phaseOf, stopAll, waitFor, workerState, type WorkerProc } from './helpers/worker-procs.js';
import type { WorkerState } from '../scripts/lib/worker/state.js';

test('the poll interval: default 30 s, kept within 2 s – 10 min; each wait within ±20 %', () => {
  const table: [string | undefined, number][] = [[undefined, 30_000], ['', 30_000], ['abc', 30_000], ['-5', 30_000], ['0', 30_000], ['500', 2_000], ['2000', 2_000], ['45000', 45_000], ['9999999', 600_000]];
  for (const [v, want] of table) assert.is(remotePollMs(v === undefined ? {} : { COVEN_REMOTE_POLL_MS: v }), want, `COVEN_REMOTE_POLL_MS=${v}`);
  assert.is(boundedPollMs(null), REMOTE_POLL_DEFAULT_MS);
  assert.is(jitteredWait(30_000, () => 0), 24_000);
  assert.is(jitteredWait(30_000, () => 0.5), 30_000);
  assert.is(jitteredWait(30_000, () => 1), 36_000);
  for (let i = 0; i < 200; i++) {
    const w = jitteredWait(30_000);
    assert.ok(w >= 24_000 && w <= 36_000, String(w));
  }
});

function sleeper(a: string, pollMs: number): { w: WorkerProc; env: Record<string, string> } {
  return remoteWorker(a, 'a', 'w1', { COVEN_REMOTE_POLL_MS: String(pollMs) });
}

const dispatches = (env: Record<string, string>) => readFakeLog({ FAKE_CLAUDE_LOG: env.FAKE_CLAUDE_LOG ?? '' }).filter(isDispatch).length;

test('the waiter alone: a push to the remote wakes it (via remote), with the remote\'s new tip', async () => {
  const { daemon, a, b } = await remoteSetup();
  try {
    const baseline = await sh(a, 'rev-parse', 'refs/remotes/origin/main');
    const looks: (string | null)[] = [];
    const waiting = waitForMainToMove({ repo: a, mainBranch: 'main', baseline: await sh(a, 'rev-parse', 'main'), safetyIntervalMs: 600_000, remote: { repo: a, remote: 'origin', main: 'main', baseline, intervalMs: 2_000, onLook: (t) => looks.push(t) } });
    await waitFor(() => looks.length >= 1, 'the first look at the remote');
    assert.equal(looks, [baseline]);
    const tip = await pushFrom(b, 1);
    assert.equal(await waiting, { kind: 'moved', tip, via: 'remote' });
  } finally {
    await daemon.stop();
  }
});

test('a sleeping remote worker wakes after another machine pushes the remote\'s main, fetches it, and goes back to sleep on it', async () => {
  const { daemon, a, b } = await remoteSetup();
  const { w, env } = sleeper(a, 2_000);
  const why = () => outputOf([w]);
  try {
    await waitFor(() => phaseOf(a, 'w1') === 'sleeping', 'w1 asleep', 60_000, why);
    const before = dispatches(env);
    const tip = await pushFrom(b, 1);
    const pushed = Date.now();
    await waitFor(() => /origin's main moved/.test(w.stdout()), 'w1 woken by the remote', 20_000, why);
    const took = Date.now() - pushed;
    assert.ok(took < 2_400 + 5_000, `woke ${took} ms after the push (poll every 2 s ±20 %)`);
    await waitFor(() => phaseOf(a, 'w1') === 'sleeping' && dispatches(env) === before + 1, 'w1 dispatched once and sleeps again', 30_000, why);
    assert.is(await sh(a, 'rev-parse', 'refs/remotes/origin/main'), tip, 'the worker fetched the remote\'s main');
    await new Promise((r) => setTimeout(r, 5_500)); // two more looks at the remote at least
    assert.is(dispatches(env), before + 1, `the same push does not wake it twice\n${why()}`);
  } finally {
    await stopAll([w]);
    await daemon.stop();
  }
});

test('two sleepers of one clone woken by a push to the remote: dispatch looks at the remote\'s new main, and both sleep on it (the herd guard keys on the remote\'s tip)', async () => {
  const { daemon, a, b } = await remoteSetup();
  const one = remoteWorker(a, 'a', 'w1', { COVEN_REMOTE_POLL_MS: '2000' });
  const two = remoteWorker(a, 'a', 'w2', { COVEN_REMOTE_POLL_MS: '2000', FAKE_CLAUDE_LOG: one.env.FAKE_CLAUDE_LOG ?? '' });
  const why = () => outputOf([one.w, two.w]);
  const waitingOn = (n: string) => (workerState(a, n) as WorkerState | null)?.waiting_on;
  try {
    await waitFor(() => phaseOf(a, 'w1') === 'sleeping' && phaseOf(a, 'w2') === 'sleeping', 'both asleep', 60_000, why);
    const before = dispatches(one.env);
    const tip = await pushFrom(b, 1);
    await waitFor(() => waitingOn('w1') === tip && waitingOn('w2') === tip && phaseOf(a, 'w1') === 'sleeping' && phaseOf(a, 'w2') === 'sleeping', 'both asleep on the pushed tip', 30_000, why);
    assert.ok(dispatches(one.env) > before, `a dispatch session looked at the new main\n${why()}`);
    assert.not.equal(await sh(a, 'rev-parse', 'main'), tip, 'the clone\'s own main did not move');
  } finally {
    await stopAll([one.w, two.w]);
    await daemon.stop();
  }
});

test('a local commit still wakes a remote worker at once (the poll is slow)', async () => {
  const { daemon, a } = await remoteSetup();
  const { w } = sleeper(a, 600_000);
  const why = () => outputOf([w]);
  try {
    await waitFor(() => phaseOf(a, 'w1') === 'sleeping', 'w1 asleep', 60_000, why);
    await commitFile(a, 'local.txt', 'local\n', 'a human\'s local commit');
    const committed = Date.now();
    await waitFor(() => /coven: main moved/.test(w.stdout()), 'w1 woken by the local commit', 10_000, why);
    assert.ok(Date.now() - committed < 5_000, `woke ${Date.now() - committed} ms after the commit`);
    assert.not.match(w.stdout(), /origin's main moved/);
  } finally {
    await stopAll([w]);
    await daemon.stop();
  }
});

test('the remote stops answering during the sleep: said once, no exit; back again: said once, and a push wakes it', async () => {
  const { daemon, a, b } = await remoteSetup();
  const { w } = sleeper(a, 2_000);
  const why = () => outputOf([w]);
  try {
    await waitFor(() => phaseOf(a, 'w1') === 'sleeping', 'w1 asleep', 60_000, why);
    await daemon.stop();
    await waitFor(() => /the remote origin does not answer/.test(w.stdout()), 'w1 saying the remote does not answer', 20_000, why);
    await new Promise((r) => setTimeout(r, 5_500)); // two more looks without an answer
    assert.is(w.stdout().match(/does not answer/g)?.length, 1, `said once\n${why()}`);
    assert.is(w.child.exitCode, null, 'still running');
    assert.is(phaseOf(a, 'w1'), 'sleeping');
    await daemon.start();
    await waitFor(() => /the remote origin answers again/.test(w.stdout()), 'w1 saying the remote answers again', 20_000, why);
    const tip = await pushFrom(b, 1);
    await waitFor(() => /origin's main moved/.test(w.stdout()), 'w1 woken by the push after the outage', 20_000, why);
    assert.match(w.stdout(), new RegExp(`now ${tip.slice(0, 7)}`));
    assert.is(w.stdout().match(/answers again/g)?.length, 1);
  } finally {
    await stopAll([w]);
    await daemon.stop();
  }
});

test('coven wait --remote: wakes on a push to the remote, prints its tip; --poll is bounded and needs --remote', async () => {
  const { daemon, a, b } = await remoteSetup();
  try {
    const waiting = startCoven(['wait', '--since', 'main', '--remote', 'origin', '--poll', '2s'], { cwd: a });
    await new Promise((r) => setTimeout(r, 1_000));
    const tip = await pushFrom(b, 1);
    const r = await waiting.exited;
    assert.equal([r.code, r.stdout.trim()], [0, tip], r.stderr);
    const noRemote = await coven(['wait', '--since', 'main', '--poll', '2s'], { cwd: a });
    assert.is(noRemote.code, 64);
    const unknown = await coven(['wait', '--since', 'main', '--remote', 'nowhere'], { cwd: a });
    assert.is(unknown.code, 2);
    assert.match(unknown.stderr, /nowhere/);
  } finally {
    await daemon.stop();
  }
});

test.run();
