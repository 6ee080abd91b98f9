import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { commitFile, coven, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { trace } from '../scripts/lib/ui/trace.js';

interface Event {
  t: number;
  pid: number;
  event: string;
  worker?: string;
  phase?: string;
  lock?: string;
  waited_ms?: number;
  cli_ms?: number;
  ms?: number;
  commits?: number;
}

const script: FakeRun[] = [
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nsleep: nothing to do yet\n</dispatch>' }] },
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  { match: { promptIncludes: 'Plan the issue in issues/a.md' }, steps: [{ write: { path: 'plan.txt', content: 'the plan\n' } }, { commit: 'plan a' }, { text: 'Planned.' }] },
];

test('with COVEN_TRACE, a worker traces its phases in order, its locks, sessions and land', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const dir = tempDir();
  const file = join(dir, 'trace.jsonl');
  const env = { ...process.env, ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: join(dir, 'wt'), COVEN_TRACE: file };
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0); // a commit on main wakes the sleeper
  const worker = coven(['worker', '--max-cycles', '1', '--name', 'w1'], { cwd: repo, env });
  const read = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event) : []);
  for (const until = Date.now() + 60_000; !read().some((e) => e.event === 'phase' && e.phase === 'sleeping'); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > until) throw new Error('the worker never went to sleep');
  }
  await commitFile(repo, 'notes.txt', 'wake up\n', 'a commit on main');
  const r = await worker;
  assert.is(r.code, 0, r.stderr);

  const events = read();
  const times = events.map((e) => e.t);
  assert.equal(times, [...times].sort((a, b) => a - b), 'one process appends in time order');
  const phases = events.filter((e) => e.event === 'phase').map((e) => e.phase);
  assert.equal(phases, ['starting', 'dispatching', 'sleeping', 'dispatching', 'running', 'landing', 'stopping']);
  const at = (pred: (e: Event) => boolean) => events.findIndex(pred);
  const phase = (p: string, nth = 0) => events.map((e, i) => (e.event === 'phase' && e.phase === p ? i : -1)).filter((i) => i >= 0)[nth]!;
  // the land (and its lock) happens inside the landing phase, not before it
  const landLock = at((e) => e.event === 'lock' && e.lock === 'land');
  assert.ok(landLock > phase('landing') && landLock < phase('stopping'), 'land lock inside landing');
  // a worker just started dispatches without the dispatch lock; woken, it takes it (policy.ts dispatchesUnderLock)
  const dispatchLocks = events.map((e, i) => (e.event === 'lock' && e.lock === 'dispatch' ? i : -1)).filter((i) => i >= 0);
  assert.is(dispatchLocks.length, 1, 'one dispatch lock: the woken dispatch');
  assert.ok(dispatchLocks[0]! > phase('dispatching', 1) && dispatchLocks[0]! < phase('running'), 'dispatch lock inside the woken dispatching');
  const sessions = events.filter((e) => e.event === 'session');
  assert.is(sessions.length, 3, 'two dispatch sessions and the agent session');
  for (const s of sessions) assert.ok(s.cli_ms! > 0 && s.cli_ms! <= s.ms!, JSON.stringify(s));
  const landed = events.find((e) => e.event === 'landed');
  assert.is(landed?.commits, 1);
  assert.is(landed?.worker, 'w1');
  assert.ok(events.every((e) => e.pid === events[0]!.pid), 'every event from the worker process');
});

test('without COVEN_TRACE nothing is written, and a trace file that cannot be written is ignored', () => {
  const dir = tempDir();
  const saved = process.env.COVEN_TRACE;
  try {
    delete process.env.COVEN_TRACE;
    trace('phase', { phase: 'x' });
    process.env.COVEN_TRACE = join(dir, 'folder');
    mkdirSync(process.env.COVEN_TRACE);
    trace('phase', { phase: 'x' }); // EISDIR: dropped, no throw
    process.env.COVEN_TRACE = join(dir, 'ok.jsonl');
    trace('phase', { phase: 'y' });
    assert.is(JSON.parse(readFileSync(join(dir, 'ok.jsonl'), 'utf8')).phase, 'y');
    assert.equal(readdirSync(dir).sort(), ['folder', 'ok.jsonl']);
    assert.equal(readdirSync(join(dir, 'folder')), []);
  } finally {
    if (saved === undefined) delete process.env.COVEN_TRACE;
    else process.env.COVEN_TRACE = saved;
  }
});

test.run();
