// worker-policy — what the loop does next, from tables: when it stops (--once, --max-idle,
// --max-cycles, a failed job with --once), how its retry waits grow, and how a duration
// option is read. Pure functions: no repository needed.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDuration } from '../scripts/lib/ui/human-duration.js';
import { dispatchesUnderLock, dispatchFailed, dispatchRetryWait, jobDone, jobStarted, landRetryWait, landsPendingFirst, loopStart, cycleStarted, sleepDecided, woken, type LandEnd, type LoopLimits, type LoopState } from '../scripts/lib/worker/policy.js';

const at = (patch: Partial<LoopState>): LoopState => ({ ...loopStart, ...patch });

test('a sleep decision ends the loop with --once, after --max-idle in a row, else the worker sleeps', () => {
  const cases: Array<[string, LoopState, LoopLimits, string | null, number]> = [
    ['--once', at({}), { once: true }, 'sleep', 1],
    ['no limit', at({ idle: 40 }), {}, null, 41],
    ['--max-idle 2, first sleep', at({}), { maxIdle: 2 }, null, 1],
    ['--max-idle 2, second sleep in a row', at({ idle: 1 }), { maxIdle: 2 }, 'idle', 2],
  ];
  for (const [what, s, limits, end, idle] of cases) {
    const r = sleepDecided(s, limits);
    assert.is(r.end, end, what);
    assert.is(r.state.idle, idle, what);
    assert.is(r.state.failures, 0, `${what}: a decision clears the failures`);
  }
});

test('a job clears the idle count; --max-cycles counts jobs', () => {
  const s = jobStarted(at({ idle: 3, failures: 2 }));
  assert.equal([s.idle, s.failures], [0, 0]);
  assert.is(jobDone(at({ jobs: 1 }), 'landed', true, { maxCycles: 2 }).end, 'cycles');
  assert.is(jobDone(at({ jobs: 0 }), 'landed', true, { maxCycles: 2 }).end, null);
  assert.is(jobDone(at({}), 'pending', true, {}).state.putOff, true, 'a put-off land waits before its next try');
});

test('with --once, a session that did not succeed and landed nothing has an end of its own', () => {
  const cases: Array<[LandEnd, boolean, string]> = [
    ['nothing', false, 'job-failed'],
    ['landed', false, 'once'], // its commits landed: the cycle did its work
    ['pending', false, 'once'], // its commits are kept unlanded: the exit says so (kept)
    ['nothing', true, 'once'],
    ['landed', true, 'once'],
  ];
  for (const [landed, ok, end] of cases) assert.is(jobDone(loopStart, landed as Exclude<LandEnd, 'parked-stop'>, ok, { once: true }).end, end, `${landed}, session ok: ${ok}`);
});

test('after a wake nothing is pending; a new cycle clears the wake and the put-off', () => {
  assert.is(landsPendingFirst(loopStart), true);
  assert.is(landsPendingFirst(woken(loopStart)), false);
  assert.equal(cycleStarted(at({ woke: true, putOff: true })), loopStart);
});

test('the dispatch lock: taken by a worker woken from a sleep or back from a failed dispatch; not by one just started or back from a job', () => {
  assert.is(dispatchesUnderLock(loopStart), false, 'just started');
  const asleep = sleepDecided(cycleStarted(loopStart), {}).state;
  assert.is(dispatchesUnderLock(woken(asleep)), true, 'woken');
  assert.is(dispatchesUnderLock(dispatchFailed(cycleStarted(loopStart))), true, 'after a failed dispatch');
  assert.is(dispatchesUnderLock(jobDone(jobStarted(cycleStarted(loopStart)), 'landed', true, {}).state), false, 'back from a job');
});

test('retry waits double and stop at 5 minutes', () => {
  let s = loopStart;
  const waits: number[] = [];
  for (let i = 0; i < 6; i++) {
    s = dispatchFailed(s);
    waits.push(dispatchRetryWait(s.failures, 60_000));
  }
  assert.equal(waits, [60_000, 120_000, 240_000, 300_000, 300_000, 300_000]);
  assert.equal([1, 2, 3, 5, 9].map((n) => landRetryWait(n, 1_000)), [1_000, 2_000, 4_000, 16_000, 16_000]);
});

test('a duration is a number with s, m or h; a bare number is minutes', () => {
  const cases: Array<[string, number | null]> = [
    ['10m', 600_000],
    ['90s', 90_000],
    ['1.5h', 5_400_000],
    ['2', 120_000],
    ['0', null],
    ['-5m', null],
    ['10 minutes', null],
    ['', null],
  ];
  for (const [text, ms] of cases) assert.is(parseDuration(text), ms, text);
});

test.run();
