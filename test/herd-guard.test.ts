import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { busyOthers, recordedSleep } from '../scripts/lib/worker/herd-guard.js';
import { newWorkerState, type Phase, type WorkerEntry } from '../scripts/lib/worker/state.js';

const tip = 'a'.repeat(40);
const other = 'b'.repeat(40);

function worker(name: string, phase: Phase, sleep?: { tip: string; busy: string[] }, liveness: 'alive' | 'dead' = 'alive'): WorkerEntry {
  const state = { ...newWorkerState({ name, branch: `coven/${name}`, worktree: `/wt/${name}` }), phase, last_sleep: sleep ? { main_tip: sleep.tip, busy: sleep.busy, reason: `${name} found nothing`, at: '2026-01-01T00:00:00Z' } : null };
  return liveness === 'alive' ? { kind: 'worker', file: `${name}.json`, state, liveness } : { kind: 'worker', file: `${name}.json`, state, liveness, why: 'pid-gone' };
}

test('busy means holding a job: running, landing, resolving; not waking, queueing for dispatch, asleep or dead', () => {
  const entries = [worker('a', 'running'), worker('b', 'landing'), worker('c', 'resolving'), worker('d', 'dispatching'), worker('e', 'starting'), worker('f', 'sleeping'), worker('g', 'running', undefined, 'dead'), worker('me', 'running')];
  assert.equal(busyOthers(entries, 'me'), ['a', 'b', 'c']);
});

const cases: Array<[string, WorkerEntry[], string | null]> = [
  ['same tip, nobody busy then or now: reuse', [worker('d', 'sleeping', { tip, busy: [] }), worker('me', 'dispatching')], 'd'],
  ['another tip: a new session', [worker('d', 'sleeping', { tip: other, busy: [] })], null],
  ['a worker took a job since: a new session', [worker('d', 'sleeping', { tip, busy: [] }), worker('x', 'running')], null],
  ['a worker that was busy finished without landing: a new session', [worker('d', 'sleeping', { tip, busy: ['x'] }), worker('x', 'dispatching')], null],
  ['the same worker still busy: reuse', [worker('d', 'sleeping', { tip, busy: ['x'] }), worker('x', 'landing')], 'd'],
  // the race this guards: when the decider recorded, o had not woken yet; now o queues for the lock
  ['a third worker that woke later and queues for dispatch changes nothing: reuse', [worker('d', 'sleeping', { tip, busy: [] }), worker('o', 'dispatching')], 'd'],
  ['the decider itself still dispatching (just released the lock): reuse', [worker('d', 'dispatching', { tip, busy: [] })], 'd'],
  // our job ended since (without a commit: main did not move); the issue we held may be free again
  ['we were busy when it decided and now we ask: a new session', [worker('d', 'sleeping', { tip, busy: ['me'] })], null],
  ['we and another were busy when it decided, the other still is: a new session', [worker('d', 'sleeping', { tip, busy: ['me', 'x'] }), worker('x', 'running')], null],
  ['the decider has taken up work since (landing what it found): a new session', [worker('d', 'landing', { tip, busy: [] })], null],
  ['a dead decider is not trusted', [worker('d', 'sleeping', { tip, busy: [] }, 'dead')], null],
  ['our own old record is not reused by ourselves', [worker('me', 'dispatching', { tip, busy: [] })], null],
];

for (const [name, entries, by] of cases) {
  test(`herd guard: ${name}`, () => {
    assert.is(recordedSleep(entries, 'me', tip)?.by ?? null, by);
  });
}

test.run();
