import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installHooks } from '../scripts/lib/hooks/install.js';
import { waitForMainToMove, type MainMoved, type WaitForMainOptions } from '../scripts/lib/worker/wait-for-main.js';
import { commitFile, sh, tempDir, tempRepo } from './helpers/repo.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts waiting and lets the test check whether it resolved yet. */
/** A slow safety check that can still end a test whose watch missed (it then fails on `via`, not hangs). */
const SAFETY = 20_000;

/** Starts a waiter; `ready` resolves once its watches are up (or it already returned). */
function waiting(opts: Omit<WaitForMainOptions, 'onWatching'>): { result: () => MainMoved | null; done: Promise<MainMoved>; ready: Promise<void> } {
  let r: MainMoved | null = null;
  let watching!: () => void;
  const ready = new Promise<void>((resolve) => (watching = resolve));
  const done = waitForMainToMove({ ...opts, onWatching: watching }).then((x) => {
    watching();
    return (r = x);
  });
  return { result: () => r, done, ready };
}

test('wakes on a git commit in the main worktree (hooks installed), with the new tip', async () => {
  const repo = await tempRepo();
  await installHooks(repo);
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const w = waiting({ repo, mainBranch: 'main', baseline, safetyIntervalMs: SAFETY });
  await w.ready;
  assert.is(w.result(), null, 'still asleep while main has not moved');
  const tip = await commitFile(repo, 'a.txt', 'a');
  const r = await w.done;
  assert.equal(r.kind === 'moved' && [r.tip, ['wake', 'ref'].includes(r.via)], [tip, true], JSON.stringify(r));
});

test('the hooks alone wake it: a commit on main touches wake (ref watches off)', async () => {
  const repo = await tempRepo();
  await installHooks(repo);
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const w = waiting({ repo, mainBranch: 'main', baseline, watch: { refs: false }, safetyIntervalMs: SAFETY });
  await w.ready;
  await sh(repo, 'switch', '-q', '-c', 'side');
  await commitFile(repo, 'side.txt', 'side');
  await sleep(200);
  assert.is(w.result(), null, 'a commit on another branch does not wake it');
  await sh(repo, 'switch', '-q', 'main');
  const tip = await commitFile(repo, 'a.txt', 'a');
  assert.equal(await w.done, { kind: 'moved', tip, via: 'wake' });
});

test('the ref watches alone wake it, for a main branch with a slash that lives in packed-refs', async () => {
  const repo = await tempRepo();
  await sh(repo, 'branch', 'team/main');
  await sh(repo, 'pack-refs', '--all');
  assert.not.ok(existsSync(join(repo, '.git', 'refs', 'heads', 'team', 'main')), 'packed, not loose');
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const w = waiting({ repo, mainBranch: 'team/main', baseline, watch: { wake: false }, safetyIntervalMs: SAFETY });
  await w.ready;
  assert.is(w.result(), null);
  await sh(repo, 'switch', '-q', 'team/main');
  const tip = await commitFile(repo, 'a.txt', 'a');
  assert.equal(await w.done, { kind: 'moved', tip, via: 'ref' });
});

test('returns at once when main already moved past the baseline (a land during dispatch)', async () => {
  const repo = await tempRepo();
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const tip = await commitFile(repo, 'a.txt', 'a');
  const r = await waitForMainToMove({ repo, mainBranch: 'main', baseline, safetyIntervalMs: SAFETY });
  assert.equal(r, { kind: 'moved', tip, via: 'first-look' });
});

test('without hooks or watches, the safety re-check still wakes it', async () => {
  const repo = await tempRepo();
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const w = waiting({ repo, mainBranch: 'main', baseline, watch: { wake: false, refs: false }, safetyIntervalMs: 150 });
  await w.ready;
  assert.is(w.result(), null);
  const tip = await commitFile(repo, 'a.txt', 'a');
  assert.equal(await w.done, { kind: 'moved', tip, via: 'safety' });
});

test('wakes on a compare-and-swap update of main from a worker worktree (no hook runs)', async () => {
  const repo = await tempRepo();
  const wt = join(tempDir(), 'wt');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'coven/w1', wt);
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const w = waiting({ repo: wt, mainBranch: 'main', baseline, safetyIntervalMs: SAFETY });
  await w.ready;
  const tip = await commitFile(wt, 'w.txt', 'w');
  assert.is(w.result(), null, 'a commit on the worker branch is not a move of main');
  await sh(wt, 'update-ref', 'refs/heads/main', tip, baseline);
  assert.equal(await w.done, { kind: 'moved', tip, via: 'ref' });
});

test('abort ends the wait', async () => {
  const repo = await tempRepo();
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const ctl = new AbortController();
  const w = waiting({ repo, mainBranch: 'main', baseline, signal: ctl.signal });
  await w.ready;
  ctl.abort();
  assert.equal(await w.done, { kind: 'aborted' });
});

test('an abort that arrives while the waiter starts up still ends the wait', async () => {
  const repo = await tempRepo();
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const ctl = new AbortController();
  const w = waiting({ repo, mainBranch: 'main', baseline, signal: ctl.signal, safetyIntervalMs: 3_600_000 });
  ctl.abort(); // the waiter is still asking git where the common dir is
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<{ kind: 'still waiting' }>((r) => (timer = setTimeout(() => r({ kind: 'still waiting' }), 20_000)));
  const first = await Promise.race([w.done, hung]);
  clearTimeout(timer);
  if (first.kind === 'still waiting') await commitFile(repo, 'moved.txt', 'x'); // lets the stuck waiter end, so the file can exit
  assert.equal(first, { kind: 'aborted' });
});

test('a main branch that no longer exists is reported, not waited on forever', async () => {
  const repo = await tempRepo();
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  assert.equal(await waitForMainToMove({ repo, mainBranch: 'nope', baseline }), { kind: 'missing' });
});

test('creates the state dir when missing, and works when a file is in its way', async () => {
  const repo = await tempRepo();
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const ctl = new AbortController();
  const w = waiting({ repo, mainBranch: 'main', baseline, signal: ctl.signal });
  await w.ready;
  assert.ok(existsSync(join(repo, '.git', 'coven', 'main-branch')));
  ctl.abort();
  await w.done;
  rmSync(join(repo, '.git', 'coven'), { recursive: true });
  writeFileSync(join(repo, '.git', 'coven'), 'in the way');
  const w2 = waiting({ repo, mainBranch: 'main', baseline, safetyIntervalMs: SAFETY });
  await w2.ready;
  const tip = await commitFile(repo, 'a.txt', 'a');
  const r = await w2.done;
  assert.equal(r.kind === 'moved' && [r.tip, ['ref', 'poll'].includes(r.via)], [tip, true], JSON.stringify(r));
});

test.run();
