import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installHooks } from '../scripts/hooks.js';
import { waitForMainToMove, type MainMoved } from '../scripts/lib/wait-for-main.js';
import { commitFile, sh, tempDir, tempRepo } from './helpers/repo.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts waiting and lets the test check whether it resolved yet. */
function waiting(p: Promise<MainMoved>): { result: () => MainMoved | null; done: Promise<MainMoved> } {
  let r: MainMoved | null = null;
  const done = p.then((x) => (r = x));
  return { result: () => r, done };
}

test('wakes on a git commit in the main worktree (hooks installed), with the new tip', async () => {
  const repo = await tempRepo();
  await installHooks(repo);
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const w = waiting(waitForMainToMove({ repo, mainBranch: 'main', baseline }));
  await sleep(200);
  assert.is(w.result(), null, 'still asleep while main has not moved');
  const tip = await commitFile(repo, 'a.txt', 'a');
  assert.equal(await w.done, { kind: 'moved', tip });
});

test('the hooks alone wake it: a commit on main touches wake (ref watches off)', async () => {
  const repo = await tempRepo();
  await installHooks(repo);
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const w = waiting(waitForMainToMove({ repo, mainBranch: 'main', baseline, watch: { refs: false }, safetyIntervalMs: 3_600_000 }));
  await sleep(200);
  await sh(repo, 'switch', '-q', '-c', 'side');
  await commitFile(repo, 'side.txt', 'side');
  await sleep(200);
  assert.is(w.result(), null, 'a commit on another branch does not wake it');
  await sh(repo, 'switch', '-q', 'main');
  const tip = await commitFile(repo, 'a.txt', 'a');
  assert.equal(await w.done, { kind: 'moved', tip });
});

test('the ref watches alone wake it, for a main branch with a slash that lives in packed-refs', async () => {
  const repo = await tempRepo();
  await sh(repo, 'branch', 'team/main');
  await sh(repo, 'pack-refs', '--all');
  assert.not.ok(existsSync(join(repo, '.git', 'refs', 'heads', 'team', 'main')), 'packed, not loose');
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const w = waiting(waitForMainToMove({ repo, mainBranch: 'team/main', baseline, watch: { wake: false }, safetyIntervalMs: 3_600_000 }));
  await sleep(200);
  assert.is(w.result(), null);
  await sh(repo, 'switch', '-q', 'team/main');
  const tip = await commitFile(repo, 'a.txt', 'a');
  assert.equal(await w.done, { kind: 'moved', tip });
});

test('returns at once when main already moved past the baseline (a land during dispatch)', async () => {
  const repo = await tempRepo();
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const tip = await commitFile(repo, 'a.txt', 'a');
  const r = await waitForMainToMove({ repo, mainBranch: 'main', baseline, safetyIntervalMs: 3_600_000 });
  assert.equal(r, { kind: 'moved', tip });
});

test('without hooks or watches, the safety re-check still wakes it', async () => {
  const repo = await tempRepo();
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const w = waiting(waitForMainToMove({ repo, mainBranch: 'main', baseline, watch: { wake: false, refs: false }, safetyIntervalMs: 150 }));
  await sleep(400);
  assert.is(w.result(), null);
  const tip = await commitFile(repo, 'a.txt', 'a');
  assert.equal(await w.done, { kind: 'moved', tip });
});

test('wakes on a compare-and-swap update of main from a worker worktree (no hook runs)', async () => {
  const repo = await tempRepo();
  const wt = join(tempDir(), 'wt');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'coven/w1', wt);
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const w = waiting(waitForMainToMove({ repo: wt, mainBranch: 'main', baseline, safetyIntervalMs: 3_600_000 }));
  await sleep(100);
  const tip = await commitFile(wt, 'w.txt', 'w');
  assert.is(w.result(), null, 'a commit on the worker branch is not a move of main');
  await sh(wt, 'update-ref', 'refs/heads/main', tip, baseline);
  assert.equal(await w.done, { kind: 'moved', tip });
});

test('abort ends the wait', async () => {
  const repo = await tempRepo();
  const baseline = await sh(repo, 'rev-parse', 'HEAD');
  const ctl = new AbortController();
  const w = waiting(waitForMainToMove({ repo, mainBranch: 'main', baseline, signal: ctl.signal }));
  await sleep(100);
  ctl.abort();
  assert.equal(await w.done, { kind: 'aborted' });
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
  const w = waiting(waitForMainToMove({ repo, mainBranch: 'main', baseline, signal: ctl.signal }));
  await sleep(100);
  assert.ok(existsSync(join(repo, '.git', 'coven', 'main-branch')));
  ctl.abort();
  await w.done;
  rmSync(join(repo, '.git', 'coven'), { recursive: true });
  writeFileSync(join(repo, '.git', 'coven'), 'in the way');
  const w2 = waiting(waitForMainToMove({ repo, mainBranch: 'main', baseline }));
  await sleep(100);
  const tip = await commitFile(repo, 'a.txt', 'a');
  assert.equal(await w2.done, { kind: 'moved', tip });
});

test.run();
