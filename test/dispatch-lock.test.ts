import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  acquireLock,
  acquireSlot,
  clearStaleLocks,
  describeWait,
  dispatchLockPath,
  readLockHolder,
  type LockHolder,
  type WaitProgress,
} from '../scripts/lib/locks/dispatch-lock.js';
import { currentProcess } from '../scripts/lib/locks/process-identity.js';
import { distRoot, tempDir } from './helpers/repo.js';

const holderScript = join(distRoot, 'test', 'fixtures', 'lock-holder.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Holder {
  child: ChildProcess;
  /** resolves with the lock path at the first "acquired" line */
  acquired: Promise<string>;
  exited: Promise<number | null>;
  stdout: () => string;
}

function startHolder(args: object): Holder {
  const child = spawn(process.execPath, [holderScript, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const acquired = new Promise<string>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /acquired (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, acquired, exited, stdout: () => out };
}

/** A pid that was just used by a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

function fakeHolder(over: Partial<LockHolder>): LockHolder {
  const me = currentProcess();
  return { worker: 'ghost', pid: me.pid, host: me.host, start: me.start, since: new Date().toISOString(), token: 'feedface', ...over };
}

/** Checks that "+x" / "-x" lines in the log never overlap. */
function assertExclusive(log: string, expectedRounds: number): void {
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  assert.is(lines.length, expectedRounds * 2, 'every round entered and left');
  for (let i = 0; i < lines.length; i += 2) {
    assert.ok(lines[i]!.startsWith('+'), `line ${i} enters: ${lines.slice(i, i + 3).join(' ')}`);
    assert.is(lines[i + 1], `-${lines[i]!.slice(1)}`, `the holder that entered leaves before anyone else enters (line ${i + 1})`);
  }
}

test('only one of several processes holds the dispatch lock at a time', async () => {
  const state = tempDir();
  const path = dispatchLockPath(state);
  const log = join(state, 'log');
  const holders = Array.from({ length: 6 }, (_, i) => startHolder({ path, owner: `w${i}`, holdMs: 15, rounds: 4, log }));
  const codes = await Promise.all(holders.map((h) => h.exited));
  assert.equal(codes, [0, 0, 0, 0, 0, 0]);
  assertExclusive(log, 24);
  assert.not.ok(existsSync(path), 'the last holder released the lock');
});

test('a lock file names its holder: worker, pid, host, since', async () => {
  const state = tempDir();
  const path = dispatchLockPath(state);
  const r = await acquireLock({ path, owner: 'brave-otter' });
  assert.is(r.kind, 'acquired');
  const read = await readLockHolder(path);
  assert.is(read.kind, 'held');
  if (read.kind !== 'held' || r.kind !== 'acquired') return;
  assert.is(read.holder.worker, 'brave-otter');
  assert.is(read.holder.pid, process.pid);
  assert.is(read.holder.host, currentProcess().host);
  assert.ok(!Number.isNaN(Date.parse(read.holder.since)));
  assert.is(await r.release(), 'released');
  assert.equal(await readLockHolder(path), { kind: 'free' });
});

test('a holder killed with kill -9 is broken at once by its dead pid, well before the stale time', async () => {
  const state = tempDir();
  const path = dispatchLockPath(state);
  const h = startHolder({ path, owner: 'doomed', holdMs: -1 }); // default staleMs (20 s)
  await h.acquired;
  const seen: WaitProgress[] = [];
  const waiting = acquireLock({ path, owner: 'next', signal: AbortSignal.timeout(10_000), onWait: (p) => seen.push(p) });
  await sleep(300);
  h.child.kill('SIGKILL');
  const r = await waiting;
  assert.is(r.kind, 'acquired', 'acquired before the 10 s abort, i.e. not by the 20 s stale time');
  assert.ok(seen.length > 0, 'the waiter reported progress');
  assert.match(describeWait('dispatch', seen[0]!), /^waiting for dispatch \(held by doomed for \d+s\)$/);
  if (r.kind === 'acquired') {
    assert.is(r.holder.worker, 'next');
    await r.release();
  }
});

test('a live holder is never broken, even frozen (SIGSTOP) far beyond the stale time', async () => {
  const state = tempDir();
  const path = dispatchLockPath(state);
  const h = startHolder({ path, owner: 'sleepy', holdMs: -1, staleMs: 200, refreshMs: 50 });
  await h.acquired;
  h.child.kill('SIGSTOP'); // no more refreshes: the file ages
  const r = await acquireLock({ path, owner: 'thief', staleMs: 200, signal: AbortSignal.timeout(1_500) });
  assert.is(r.kind, 'aborted');
  const read = await readLockHolder(path);
  assert.is(read.kind, 'held');
  if (read.kind === 'held') {
    assert.is(read.holder.worker, 'sleepy');
    assert.ok(read.ageMs > 1_000, 'the file was not refreshed while frozen');
  }
  h.child.kill('SIGCONT');
  h.child.kill('SIGKILL');
  await h.exited;
});

test('a remote holder keeps the lock while it refreshes, and loses it once it stops for staleMs', async () => {
  const state = tempDir();
  const path = dispatchLockPath(state);
  mkdirSync(join(state, 'locks'));
  writeFileSync(path, JSON.stringify(fakeHolder({ worker: 'remote', host: 'another-host', pid: 4242, start: null })));
  const refresher = setInterval(() => utimesSync(path, new Date(), new Date()), 50);
  let acquired = false;
  const waiting = acquireLock({ path, owner: 'local', staleMs: 300 }).then((r) => {
    acquired = true;
    return r;
  });
  await sleep(1_200); // four times the stale time, refreshed all along
  assert.not.ok(acquired, 'not taken while the remote holder refreshes it');
  clearInterval(refresher);
  const r = await waiting;
  assert.is(r.kind, 'acquired');
  if (r.kind === 'acquired') await r.release();
});

test('a holder refreshes its lock file while it holds it', async () => {
  const state = tempDir();
  const path = dispatchLockPath(state);
  const r = await acquireLock({ path, owner: 'me', staleMs: 200, refreshMs: 40 });
  if (r.kind !== 'acquired') return assert.unreachable('acquired');
  await sleep(500);
  const read = await readLockHolder(path);
  assert.is(read.kind, 'held');
  if (read.kind === 'held') assert.ok(read.ageMs < 200, `refreshed recently (age ${read.ageMs} ms)`);
  await r.release();
});

for (const [what, content] of [
  ['empty', ''],
  ['truncated', '{"worker":"a","pid":12'],
  ['garbage', '\u0000\u0001binary'],
  ['wrong shape', '{"hello":"world"}'],
] as const) {
  test(`a ${what} lock file is reported as corrupt and recovered after the stale time`, async () => {
    const state = tempDir();
    const path = dispatchLockPath(state);
    mkdirSync(join(state, 'locks'));
    writeFileSync(path, content);
    const read = await readLockHolder(path);
    assert.is(read.kind, 'corrupt');
    const seen: WaitProgress[] = [];
    const r = await acquireLock({ path, owner: 'fixer', staleMs: 300, onWait: (p) => seen.push(p), signal: AbortSignal.timeout(10_000) });
    assert.is(r.kind, 'acquired');
    assert.match(describeWait('dispatch', seen[0]!), /lock file is corrupt/);
    const after = await readLockHolder(path);
    assert.is(after.kind === 'held' && after.holder.worker, 'fixer');
    if (r.kind === 'acquired') await r.release();
  });
}

test('a directory or a fifo at the lock path: corrupt, with the fix; never broken, never blocks a reader', async () => {
  const state = tempDir();
  const path = dispatchLockPath(state);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, 'inside'), 'someone put this here\n');
  const slot = join(state, 'locks', 'agent-plan.0');
  execFileSync('mkfifo', [slot]); // opening a fifo to read would wait for a writer
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(path, old, old);
  for (const [p, what] of [[path, 'a directory'], [slot, 'a FIFO']] as const) {
    const read = await readLockHolder(p);
    assert.is(read.kind, 'corrupt');
    if (read.kind !== 'corrupt') return;
    assert.is(read.reason, `${what}, not a file`);
    assert.is(read.fix, `mv ${p} ${join(state, basename(p))}.not-a-lock`);
  }
  const seen: WaitProgress[] = [];
  const r = await acquireLock({ path, owner: 'waiter', staleMs: 50, onWait: (p) => seen.push(p), signal: AbortSignal.timeout(600) });
  assert.is(r.kind, 'aborted', 'a directory is not broken, however old');
  assert.match(describeWait('dispatch', seen[0]!), /lock file is corrupt \(a directory, not a file\); no worker can take the lock until it is moved away: mv \S+\/locks\/dispatch \S+\/dispatch\.not-a-lock\)$/);
  const listed = await clearStaleLocks(join(state, 'locks'), { staleMs: 50 });
  assert.equal(listed.map((l) => [l.path, l.fix !== undefined]), [[slot, true], [path, true]]);
  assert.ok(existsSync(join(path, 'inside')), 'what was in it is untouched');
  renameSync(path, `${path}.not-a-lock`.replace('/locks/', '/'));
  const after = await acquireLock({ path, owner: 'waiter', signal: AbortSignal.timeout(10_000) });
  assert.is(after.kind, 'acquired', 'once moved away, the lock is taken');
  if (after.kind === 'acquired') await after.release();
});

test('waiters racing to break the same dead lock: exactly one holds it at a time', async () => {
  // each holder, when done, leaves the lock to a "dead" process and is killed: all the
  // other waiters see the dead holder at the same moment (fs.watch) and race to break it
  for (let round = 0; round < 3; round++) {
    const state = tempDir();
    const path = dispatchLockPath(state);
    const log = join(state, 'log');
    const holders = Array.from({ length: 7 }, (_, i) => startHolder({ path, owner: `r${i}`, holdMs: 20, log, die: true }));
    await Promise.all(holders.map((h) => h.exited));
    assertExclusive(log, 7);
  }
});

test('a reused pid (same pid, other start time) counts as dead', async () => {
  const state = tempDir();
  const path = dispatchLockPath(state);
  mkdirSync(join(state, 'locks'));
  writeFileSync(path, JSON.stringify(fakeHolder({ worker: 'old', start: 'boot:1' }))); // our pid, another start
  const r = await acquireLock({ path, owner: 'new', signal: AbortSignal.timeout(10_000) });
  assert.is(r.kind, 'acquired');
  if (r.kind === 'acquired') await r.release();
});

test('slots: N holders at once, the next waits and takes the slot that is released', async () => {
  const stateDir = tempDir();
  const taken = await Promise.all([0, 1, 2].map((i) => acquireSlot({ stateDir, agent: 'implement', slots: 3, owner: `w${i}` })));
  const slots = taken.map((t) => (t.kind === 'acquired' ? t.slot : -1)).sort();
  assert.equal(slots, [0, 1, 2]);
  let fourth: Awaited<ReturnType<typeof acquireSlot>> | null = null;
  const progress: WaitProgress[] = [];
  const waiting = acquireSlot({ stateDir, agent: 'implement', slots: 3, owner: 'w3', onWait: (p) => progress.push(p) }).then((r) => (fourth = r));
  await sleep(300);
  assert.is(fourth, null, 'all three slots are busy');
  assert.is(progress[0]?.held.length, 3);
  const second = taken[1]!;
  if (second.kind !== 'acquired') return assert.unreachable();
  await second.release();
  await waiting;
  const got = fourth as Awaited<ReturnType<typeof acquireSlot>> | null;
  assert.is(got?.kind === 'acquired' && got.slot, second.slot);
  for (const t of [taken[0]!, taken[2]!, got!]) if (t.kind === 'acquired') await t.release();
});

test('slots across processes: never more than N holders at once', async () => {
  const stateDir = tempDir();
  const log = join(stateDir, 'log');
  const holders = Array.from({ length: 5 }, (_, i) => startHolder({ path: '', owner: `s${i}`, holdMs: 40, rounds: 2, log, slots: { stateDir, agent: 'audit', n: 2 } }));
  assert.equal(await Promise.all(holders.map((h) => h.exited)), [0, 0, 0, 0, 0]);
  let inside = 0;
  let most = 0;
  for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
    inside += line.startsWith('+') ? 1 : -1;
    most = Math.max(most, inside);
  }
  assert.is(inside, 0);
  assert.is(most, 2);
});

test('an aborted wait returns aborted and leaves the holder alone', async () => {
  const state = tempDir();
  const path = dispatchLockPath(state);
  const held = await acquireLock({ path, owner: 'holder' });
  const ctl = new AbortController();
  const waiting = acquireLock({ path, owner: 'impatient', signal: ctl.signal });
  await sleep(100);
  ctl.abort();
  const r = await waiting;
  assert.is(r.kind, 'aborted');
  const read = await readLockHolder(path);
  assert.is(read.kind === 'held' && read.holder.worker, 'holder');
  if (held.kind === 'acquired') await held.release();
});

test('a lock removed behind the holder is reported lost, and release leaves the new holder alone', async () => {
  const state = tempDir();
  const path = dispatchLockPath(state);
  let lost = '';
  const r = await acquireLock({ path, owner: 'first', refreshMs: 30, onLost: (p) => (lost = p) });
  if (r.kind !== 'acquired') return assert.unreachable();
  const { unlinkSync } = await import('node:fs');
  unlinkSync(path);
  const other = await acquireLock({ path, owner: 'second' });
  await sleep(150);
  assert.is(lost, path);
  assert.is(await r.release(), 'was-lost');
  const read = await readLockHolder(path);
  assert.is(read.kind === 'held' && read.holder.worker, 'second');
  if (other.kind === 'acquired') await other.release();
});

// lockfile's exit handler unlinks, by path, every lock it still lists: a holder that lost
// its lock must not take the next holder's lock file with it when it exits
for (const [how, end] of [
  ['releases it (was-lost), then exits', { until: true }],
  ['exits while still believing it holds it', { until: true, exit: true }],
  ['is ended by a signal it does not handle', {}],
] as const) {
  test(`a holder whose lock was removed and taken by another ${how}: the new holder's lock file stays`, async () => {
    const state = tempDir();
    const path = dispatchLockPath(state);
    const go = join(state, 'go');
    const h = startHolder({ path, owner: 'first', holdMs: -1, refreshMs: 60_000, ...('until' in end ? { holdMs: 0, until: go } : {}), ...('exit' in end ? { exit: true } : {}) });
    await h.acquired;
    unlinkSync(path); // by hand, or broken by a waiter that judged it stale
    const second = await acquireLock({ path, owner: 'second', signal: AbortSignal.timeout(10_000) });
    if (second.kind !== 'acquired') return assert.unreachable('the second holder takes the free lock');
    if ('until' in end) writeFileSync(go, '');
    else h.child.kill('SIGTERM');
    await h.exited;
    if ('until' in end && !('exit' in end)) assert.match(h.stdout(), /release was-lost/);
    const read = await readLockHolder(path);
    assert.is(read.kind === 'held' && read.holder.worker, 'second', `the second holder's lock file is still there (${JSON.stringify(read)})`);
    assert.is(await second.release(), 'released');
  });
}

test('a holder that exits still holding its lock removes it; the next one takes it without breaking anything', async () => {
  const state = tempDir();
  const path = dispatchLockPath(state);
  const go = join(state, 'go');
  const h = startHolder({ path, owner: 'leaver', holdMs: 0, until: go, exit: true });
  await h.acquired;
  writeFileSync(go, '');
  assert.is(await h.exited, 0);
  assert.not.ok(existsSync(path), 'the exit clean-up removed it');
  assert.equal(readdirSync(join(state, 'locks')), [], 'and left nothing else in the locks folder');
});

test('clearStaleLocks removes locks of dead holders and keeps live ones', async () => {
  const state = tempDir();
  const locks = join(state, 'locks');
  mkdirSync(locks);
  writeFileSync(join(locks, 'dispatch'), JSON.stringify(fakeHolder({ worker: 'dead', pid: await deadPid(), start: null })));
  // a taker's own file: left by one killed mid-take, and one of a live taker
  const deadTake = join(locks, '.dispatch.0badf00d0badf00d.take');
  writeFileSync(deadTake, JSON.stringify(fakeHolder({ worker: 'dead', pid: await deadPid(), start: null })));
  const liveTake = join(locks, '.dispatch.feedfacefeedface.take');
  writeFileSync(liveTake, JSON.stringify(fakeHolder({ worker: 'taking' })));
  const live = await acquireSlot({ stateDir: state, agent: 'plan', slots: 1, owner: 'alive' });
  const dry = await clearStaleLocks(locks, { dryRun: true });
  assert.is(dry.length, 1);
  assert.ok(existsSync(join(locks, 'dispatch')), 'dry run changes nothing');
  const cleared = await clearStaleLocks(locks);
  assert.equal(cleared.map((c) => c.path), [deadTake, join(locks, 'dispatch')]);
  assert.match(cleared[1]!.reason, /dead/);
  assert.not.ok(existsSync(join(locks, 'dispatch')));
  assert.ok(existsSync(join(locks, 'agent-plan.0')));
  assert.ok(existsSync(liveTake), 'a live taker\'s own file is left alone');
  if (live.kind === 'acquired') await live.release();
});

test("clearStaleLocks: a taker's own file left empty (killed between creating it and writing who it is) is cleared once it is 2 s old, not only after the stale time", async () => {
  const locks = join(tempDir(), 'locks');
  mkdirSync(locks);
  const old = join(locks, '.dispatch.0123456789abcdef.take');
  writeFileSync(old, '');
  const past = new Date(Date.now() - 5_000);
  utimesSync(old, past, past);
  const fresh = join(locks, '.dispatch.fedcba9876543210.take');
  writeFileSync(fresh, ''); // a taker between its create and its write, this instant
  const cleared = await clearStaleLocks(locks);
  assert.equal(cleared.map((c) => c.path), [old]);
  assert.not.ok(existsSync(old));
  assert.ok(existsSync(fresh), 'a taker still writing its file is left alone');
});

test.run();
