import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { currentProcess, processStartTime } from '../scripts/lib/locks/process-identity.js';
import {
  busyWorkers,
  newWorkerState,
  readWorkerState,
  readWorkerStates,
  updateWorkerState,
  writeWorkerState,
  type WorkerState,
} from '../scripts/lib/worker/state.js';
import { tempDir } from './helpers/repo.js';

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

function state(name: string, over: Partial<WorkerState> = {}): WorkerState {
  return { ...newWorkerState({ name, branch: `coven/${name}`, worktree: `/tmp/wt/${name}` }), ...over };
}

test('a written state reads back, alive, with the fields of the design', async () => {
  const dir = tempDir();
  const s = state('brave-otter', { phase: 'running', agent: 'implement', args: { issue: 'issues/a.md' }, session_id: 'abc', cycles: 2, landed: 1, cost_usd: 0.25 });
  await writeWorkerState(dir, s);
  const e = await readWorkerState(dir, 'brave-otter');
  assert.is(e?.kind, 'worker');
  if (e?.kind !== 'worker') return;
  assert.is(e.liveness, 'alive');
  assert.equal(e.state, s);
  assert.is(e.state.pid, process.pid);
  assert.is(e.state.pid_start, currentProcess().start);
});

test('writes are atomic: a reader never sees a half-written file, and no temp file is left', async () => {
  const dir = tempDir();
  let s = state('busy');
  await writeWorkerState(dir, s);
  let writing = true;
  const writer = (async () => {
    for (let i = 0; i < 300; i++) {
      // vary the size so a torn write would show as invalid JSON
      s = await updateWorkerState(dir, s, { cycles: i, args: i % 2 ? { note: 'x'.repeat(5000) } : {} });
    }
    writing = false;
  })();
  let reads = 0;
  while (writing) {
    const e = await readWorkerState(dir, 'busy');
    assert.is(e?.kind, 'worker', `read ${reads} was ${e?.kind === 'corrupt' ? e.reason : 'missing'}`);
    reads++;
  }
  await writer;
  assert.ok(reads > 10);
  assert.equal(readdirSync(join(dir, 'workers')), ['busy.json']);
});

test('a phase change resets since; the same phase keeps it', async () => {
  const dir = tempDir();
  const s = state('w', { since: '2020-01-01T00:00:00.000Z' });
  const same = await updateWorkerState(dir, s, { cycles: 1 });
  assert.is(same.since, '2020-01-01T00:00:00.000Z');
  const moved = await updateWorkerState(dir, same, { phase: 'dispatching' });
  assert.is.not(moved.since, '2020-01-01T00:00:00.000Z');
});

test('empty, truncated and invalid state files are reported as corrupt, next to good ones', async () => {
  const dir = tempDir();
  await writeWorkerState(dir, state('good'));
  mkdirSync(join(dir, 'workers'), { recursive: true });
  writeFileSync(join(dir, 'workers', 'empty.json'), '');
  writeFileSync(join(dir, 'workers', 'torn.json'), '{"name":"torn","pid":');
  writeFileSync(join(dir, 'workers', 'odd.json'), JSON.stringify({ ...state('odd'), phase: 'napping' }));
  writeFileSync(join(dir, 'workers', 'other.json'), JSON.stringify(state('not-other')));
  writeFileSync(join(dir, 'workers', '.good.123.ab.tmp'), 'half');
  const entries = await readWorkerStates(dir);
  const summary = entries.map((e) => (e.kind === 'corrupt' ? `${e.name}: corrupt: ${e.reason}` : `${e.state.name}: ok`));
  assert.match(summary[2]!, /^odd: corrupt: phase: /, 'names the bad field');
  summary[2] = 'odd: corrupt: phase';
  assert.equal(summary, [
    'empty: corrupt: empty file',
    'good: ok',
    'odd: corrupt: phase',
    "other: corrupt: names worker 'not-other', not 'other'",
    'torn: corrupt: not valid JSON (truncated?)',
  ]);
});

test('a worker whose pid is gone is dead, and a dead worker is never busy', async () => {
  const dir = tempDir();
  await writeWorkerState(dir, state('gone', { pid: await deadPid(), phase: 'running' }));
  await writeWorkerState(dir, state('here', { phase: 'running' }));
  await writeWorkerState(dir, state('napping', { phase: 'sleeping' }));
  const entries = await readWorkerStates(dir);
  const gone = entries.find((e) => e.kind === 'worker' && e.state.name === 'gone');
  assert.is(gone?.kind === 'worker' && gone.liveness, 'dead');
  assert.is(gone?.kind === 'worker' && gone.liveness === 'dead' && gone.why, 'pid-gone');
  assert.equal(busyWorkers(entries), ['here']);
});

test('a reused pid (our pid, another start time) is dead, not alive', async () => {
  const dir = tempDir();
  assert.ok(processStartTime(process.pid), 'this platform can read start times');
  await writeWorkerState(dir, state('ghost', { pid: process.pid, pid_start: 'boot:1', phase: 'running' }));
  const e = await readWorkerState(dir, 'ghost');
  assert.is(e?.kind === 'worker' && e.liveness, 'dead');
  assert.is(e?.kind === 'worker' && e.liveness === 'dead' && e.why, 'pid-reused');
  assert.equal(busyWorkers(e ? [e] : []), []);
});

test('the sleep herd-guard fields round-trip', async () => {
  const dir = tempDir();
  const s = state('sleeper', {
    phase: 'sleeping',
    waiting_on: 'a'.repeat(40),
    last_sleep: { main_tip: 'a'.repeat(40), busy: ['brave-otter'], reason: 'nothing approved', at: new Date().toISOString() },
  });
  await writeWorkerState(dir, s);
  const e = await readWorkerState(dir, 'sleeper');
  assert.equal(e?.kind === 'worker' && e.state.last_sleep, s.last_sleep);
  assert.is(e?.kind === 'worker' && e.state.waiting_on, 'a'.repeat(40));
});

test('no workers folder: no entries, no error', async () => {
  assert.equal(await readWorkerStates(join(tempDir(), 'missing')), []);
});

test.run();
