import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dispatchLockPath } from '../scripts/lib/locks/dispatch-lock.js';
import { newWorkerState, writeWorkerState, type WorkerState } from '../scripts/lib/worker/state.js';
import { commitFile, coven, run, sh, tempDir, tempRepo } from './helpers/repo.js';

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

const stateDir = (repo: string) => join(repo, '.git', 'coven');

/** A worker worktree on coven/<name> and its state file; dead unless `alive`. */
async function worker(repo: string, name: string, opts: { alive?: boolean; branch?: string; over?: Partial<WorkerState> } = {}): Promise<string> {
  const branch = opts.branch ?? `coven/${name}`;
  const wt = join(tempDir(), name);
  await sh(repo, 'worktree', 'add', '-q', '-b', branch, wt, 'main');
  const s = { ...newWorkerState({ name, branch, worktree: wt }), ...opts.over };
  if (!opts.alive) s.pid = await deadPid();
  await writeWorkerState(stateDir(repo), s);
  return wt;
}

const branchExists = async (repo: string, b: string) => (await sh(repo, 'branch', '--list', b)) !== '';

test('gc removes the half-made worktree of a worker killed during its git worktree add', async () => {
  const repo = await tempRepo();
  await commitFile(repo, 'src/a.txt', 'a\n');
  // what an interrupted `git worktree add` leaves: locked as "initializing", files not checked out
  const wt = join(tempDir(), 'cut-short');
  await sh(repo, 'worktree', 'add', '-q', '--no-checkout', '-b', 'coven/cut-short', wt, 'main');
  await sh(repo, 'worktree', 'lock', '--reason', 'initializing', wt);
  await writeWorkerState(stateDir(repo), { ...newWorkerState({ name: 'cut-short', branch: 'coven/cut-short', worktree: wt }), pid: await deadPid() });
  assert.ok((await sh(wt, 'status', '--porcelain')).length > 0, 'looks dirty');
  // killed earlier still: no HEAD yet (git writes a placeholder first)
  const wt2 = join(tempDir(), 'cut-shorter');
  await sh(repo, 'worktree', 'add', '-q', '--no-checkout', '-b', 'coven/cut-shorter', wt2, 'main');
  const gitDir2 = await sh(wt2, 'rev-parse', '--absolute-git-dir');
  writeFileSync(join(gitDir2, 'HEAD'), `${'0'.repeat(40)}\n`);
  writeFileSync(join(gitDir2, 'HEAD.lock'), '');
  await sh(repo, 'worktree', 'lock', '--reason', 'initializing', wt2);
  await writeWorkerState(stateDir(repo), { ...newWorkerState({ name: 'cut-shorter', branch: 'coven/cut-shorter', worktree: wt2 }), pid: await deadPid() });

  const r = await coven(['gc'], { cwd: repo });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.not.ok(existsSync(wt));
  assert.not.ok(await branchExists(repo, 'coven/cut-short'));
  assert.not.ok(existsSync(wt2));
  assert.not.ok(await branchExists(repo, 'coven/cut-shorter'));
  assert.is(await sh(repo, 'worktree', 'list', '--porcelain').then((l) => l.split('\n').filter((x) => x.startsWith('worktree ')).length), 1);
});

test('gc removes a dead worker with nothing unlanded: worktree, branch, state file, step files', async () => {
  const repo = await tempRepo();
  const wt = await worker(repo, 'calm-fox');
  mkdirSync(join(stateDir(repo), 'steps', 'calm-fox'), { recursive: true });
  writeFileSync(join(stateDir(repo), 'steps', 'calm-fox', 'decision.json'), '{}');
  const r = await coven(['gc'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /calm-fox: removed worktree .*, branch coven\/calm-fox and its state file/);
  assert.not.ok(existsSync(wt));
  assert.not.ok(await branchExists(repo, 'coven/calm-fox'));
  assert.not.ok(existsSync(join(stateDir(repo), 'workers', 'calm-fox.json')));
  assert.not.ok(existsSync(join(stateDir(repo), 'steps', 'calm-fox')), 'its step files go too');
});

test('gc keeps and lists dead workers with unlanded commits or uncommitted changes (exit 3)', async () => {
  const repo = await tempRepo();
  const a = await worker(repo, 'ahead');
  await commitFile(a, 'work.txt', 'precious');
  const d = await worker(repo, 'dirty');
  writeFileSync(join(d, 'draft.txt'), 'unsaved');
  const r = await coven(['gc'], { cwd: repo });
  assert.is(r.code, 3);
  assert.match(r.stdout, /ahead: kept — 1 commit not on main/);
  assert.match(r.stdout, /dirty: kept — uncommitted changes to draft\.txt/);
  assert.match(r.stdout, /coven gc --force/);
  assert.ok(existsSync(join(a, 'work.txt')));
  assert.ok(existsSync(join(d, 'draft.txt')));
  assert.ok(await branchExists(repo, 'coven/ahead'));
  assert.ok(existsSync(join(stateDir(repo), 'workers', 'ahead.json')));
});

test('gc --force saves commits and uncommitted changes under refs/coven/gc/… and then removes', async () => {
  const repo = await tempRepo();
  const wt = await worker(repo, 'bold-elk');
  const committed = await commitFile(wt, 'done.txt', 'committed work');
  writeFileSync(join(wt, 'done.txt'), 'edited, not committed');
  writeFileSync(join(wt, 'new.txt'), 'untracked');
  const r = await coven(['gc', '--force'], { cwd: repo });
  assert.is(r.code, 0, r.stdout + r.stderr);
  const ref = /saved at (refs\/coven\/gc\/bold-elk\/\S+)/.exec(r.stdout)?.[1];
  assert.ok(ref, r.stdout);
  assert.is(await sh(repo, 'show', `${ref}:done.txt`), 'edited, not committed');
  assert.is(await sh(repo, 'show', `${ref}:new.txt`), 'untracked');
  assert.is(await sh(repo, 'rev-parse', `${ref}^1`), committed, 'the worker commit is its parent');
  assert.not.ok(existsSync(wt));
  assert.not.ok(await branchExists(repo, 'coven/bold-elk'));
  assert.is(await sh(repo, 'status', '--porcelain'), '', 'the main worktree is untouched');
});

test('gc --force keeps both the rebase-in-progress HEAD and the branch tip of a worker that died resolving', async () => {
  const repo = await tempRepo();
  const wt = await worker(repo, 'stuck', { over: { phase: 'resolving' } });
  const mine = await commitFile(wt, 'c.txt', 'worker side');
  await commitFile(repo, 'c.txt', 'main side');
  const rebase = await sh(wt, 'rebase', 'main').catch(() => 'conflict');
  assert.is(rebase, 'conflict');
  const kept = await coven(['gc'], { cwd: repo });
  assert.is(kept.code, 3);
  assert.match(kept.stdout, /stuck: kept — .*a rebase is in progress/);
  const r = await coven(['gc', '--force'], { cwd: repo });
  assert.is(r.code, 0, r.stdout + r.stderr);
  const ref = /saved at (refs\/coven\/gc\/stuck\/\S+)/.exec(r.stdout)?.[1];
  assert.ok(ref);
  const parents = (await sh(repo, 'rev-list', '--parents', '-n', '1', ref!)).split(' ').slice(1);
  assert.ok(parents.includes(mine), 'the branch tip stays reachable');
  assert.match(await sh(repo, 'show', `${ref}:c.txt`), /<<<<<<<|worker side/);
  assert.not.ok(existsSync(wt));
});

test('gc never touches worktrees coven did not create, live workers, or the main worktree', async () => {
  const repo = await tempRepo();
  // a dead "worker" whose branch is not under coven/
  const feature = await worker(repo, 'feature', { branch: 'feature' });
  // a dead worker whose state file names a user's worktree with another branch
  const userWt = join(tempDir(), 'user-wt');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'mine', userWt, 'main');
  await writeWorkerState(stateDir(repo), { ...newWorkerState({ name: 'liar', branch: 'coven/liar', worktree: userWt }), pid: await deadPid() });
  // a dead worker that claims the main worktree
  await writeWorkerState(stateDir(repo), { ...newWorkerState({ name: 'mainer', branch: 'coven/mainer', worktree: repo }), pid: await deadPid() });
  await sh(repo, 'branch', 'coven/mainer');
  await sh(repo, 'switch', '-q', 'coven/mainer');
  // a live worker
  const live = await worker(repo, 'alive', { alive: true });
  const r = await coven(['gc', '--force'], { cwd: repo });
  assert.match(r.stdout, /feature: left alone — its branch feature is not under coven\//);
  assert.match(r.stdout, /liar: left alone — .*has refs\/heads\/mine checked out/);
  assert.match(r.stdout, /mainer: left alone — .*main worktree/);
  assert.match(r.stdout, /running \(not touched\): alive/);
  for (const p of [feature, userWt, live, repo]) assert.ok(existsSync(p), p);
  assert.ok(await branchExists(repo, 'mine'));
  assert.ok(await branchExists(repo, 'coven/alive'));
});

test('gc --force leaves alone a worktree the user made for a dead worker\'s branch after its own was deleted', async () => {
  const repo = await tempRepo();
  const wt = await worker(repo, 'w1');
  rmSync(wt, { recursive: true, force: true });
  await sh(repo, 'worktree', 'prune');
  const mine = join(tempDir(), 'g1-mine');
  await sh(repo, 'worktree', 'add', '-q', mine, 'coven/w1');
  writeFileSync(join(mine, 'notes.txt'), 'my notes\n');
  const r = await coven(['gc', '--force'], { cwd: repo });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.ok(r.stdout.includes(`w1: left alone — its branch coven/w1 is checked out in ${mine}, not in the worktree coven made for it (${wt}); nothing was touched.`), r.stdout);
  assert.match(r.stdout, /put its work on a branch of your own \(git -C \S+ switch -c <name>\), then run coven gc again/);
  assert.is(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'my notes\n');
  assert.ok(await branchExists(repo, 'coven/w1'));
  assert.is(await sh(repo, 'for-each-ref', 'refs/coven/'), '', 'nothing saved: nothing was about to be removed');
  assert.ok(existsSync(join(stateDir(repo), 'workers', 'w1.json')), 'the state file stays, so gc can clean up later');
});

test('gc clears locks held by dead processes; --dry-run changes nothing', async () => {
  const repo = await tempRepo();
  const wt = await worker(repo, 'gone');
  const lock = dispatchLockPath(stateDir(repo));
  mkdirSync(join(stateDir(repo), 'locks'), { recursive: true });
  writeFileSync(lock, JSON.stringify({ worker: 'gone', pid: await deadPid(), host: (await import('node:os')).hostname(), start: null, since: new Date().toISOString(), token: 'x1' }));
  const dry = await coven(['gc', '--dry-run'], { cwd: repo });
  assert.is(dry.code, 0);
  assert.match(dry.stdout, /gone: would remove/);
  assert.match(dry.stdout, /would clear/);
  assert.ok(existsSync(wt) && existsSync(lock));
  const r = await coven(['gc'], { cwd: repo });
  assert.match(r.stdout, /lock .*dispatch: cleared \(holder gone .* is dead/);
  assert.not.ok(existsSync(lock));
});

test('gc keeps the commits an agent reset away in a worker that died before saving them (refs/coven/reflog/)', async () => {
  const repo = await tempRepo();
  const wt = await worker(repo, 'reset-fox');
  await commitFile(wt, 'a.txt', 'first', 'agent: first try');
  const second = await commitFile(wt, 'b.txt', 'second', 'agent: second try');
  await sh(wt, 'reset', '-q', '--hard', 'HEAD~2'); // the branch is back on main: "nothing unlanded"
  const dry = await coven(['gc', '--dry-run'], { cwd: repo });
  assert.is(dry.code, 0, dry.stdout + dry.stderr);
  assert.match(dry.stdout, new RegExp(`would be kept under refs/coven/reflog/reset-fox/: ${second.slice(0, 10)}`));
  assert.is(await sh(repo, 'for-each-ref', 'refs/coven/'), '');
  assert.ok(existsSync(wt));

  const r = await coven(['gc'], { cwd: repo });
  assert.is(r.code, 0, r.stdout + r.stderr);
  const ref = /are kept at (refs\/coven\/reflog\/reset-fox\/\S+)/.exec(r.stdout)?.[1];
  assert.ok(ref, r.stdout);
  assert.is(await sh(repo, 'rev-parse', ref!), second);
  assert.is(await sh(repo, 'log', '--format=%s', `${ref}`, '--not', 'main'), 'agent: second try\nagent: first try');
  assert.not.ok(existsSync(wt));
  assert.not.ok(await branchExists(repo, 'coven/reset-fox'));
});

test('gc keeps nothing extra for commits main has in another form (rebased, amended) or that coven already saved', async () => {
  const repo = await tempRepo();
  const wt = await worker(repo, 'landed-elk');
  await commitFile(wt, 'a.txt', 'one', 'agent: one');
  writeFileSync(join(wt, 'a.txt'), 'one, amended');
  await sh(wt, 'commit', '-q', '-a', '--amend', '--no-edit');
  await commitFile(repo, 'm.txt', 'main moved', 'user: main moved');
  await sh(wt, 'rebase', '-q', 'main'); // the land: a rebased copy of "agent: one" ...
  await sh(repo, 'merge', '-q', '--ff-only', 'coven/landed-elk'); // ... fast-forwarded onto main
  const dropped = await commitFile(wt, 'd.txt', 'dropped', 'agent: dropped, saved by coven');
  await sh(repo, 'update-ref', 'refs/coven/dropped/landed-elk/20261125T000000Z', dropped);
  await sh(wt, 'reset', '-q', '--hard', 'HEAD~1');
  const r = await coven(['gc'], { cwd: repo });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /landed-elk: removed worktree/);
  assert.not.match(r.stdout, /reflog/);
  assert.is(await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/'), 'refs/coven/dropped/landed-elk/20261125T000000Z');
});

/** In `wt`, starts `git rebase -i <upstream>` with this todo list and leaves it stopped (at a break or an edit). */
async function stoppedRebase(wt: string, upstream: string, todo: string): Promise<void> {
  const dir = tempDir();
  writeFileSync(join(dir, 'todo'), todo);
  const editor = join(dir, 'todo.sh');
  writeFileSync(editor, `#!/bin/sh\ncp '${join(dir, 'todo')}' "$1"\n`, { mode: 0o755 });
  const r = await run('git', ['rebase', '-i', upstream], { cwd: wt, env: { GIT_SEQUENCE_EDITOR: editor } });
  assert.is(r.code, 0, r.stderr);
  assert.ok(existsSync(join(await sh(wt, 'rev-parse', '--absolute-git-dir'), 'rebase-merge')), 'the rebase is stopped, not finished');
}

test('gc keeps a dead worker whose only unlanded change is uncommitted, before git could refuse: --dry-run says kept too', async () => {
  const repo = await tempRepo();
  const d = await worker(repo, 'draft-owl');
  writeFileSync(join(d, 'README.md'), 'edited, not committed\n');
  const dry = await coven(['gc', '--dry-run'], { cwd: repo });
  assert.is(dry.code, 3, dry.stdout + dry.stderr);
  assert.match(dry.stdout, /draft-owl: kept — uncommitted changes to README\.md\n/);
  assert.not.match(dry.stdout, /would remove/);
  const r = await coven(['gc'], { cwd: repo });
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /draft-owl: kept — uncommitted changes to README\.md\n/, 'kept by gc\'s own check, not by git worktree remove refusing');
  assert.is(readFileSync(join(d, 'README.md'), 'utf8'), 'edited, not committed\n');
});

test('gc counts the commits of a detached HEAD mid-rebase that neither the branch nor main has', async () => {
  const repo = await tempRepo();
  const wt = await worker(repo, 'amend-owl');
  const landed = await commitFile(wt, 'a.txt', 'one\n', 'agent: one');
  await sh(repo, 'merge', '-q', '--ff-only', 'coven/amend-owl'); // the branch is all on main
  await stoppedRebase(wt, 'HEAD~1', `edit ${landed}\n`);
  writeFileSync(join(wt, 'a.txt'), 'one, amended\n');
  await sh(wt, 'commit', '-q', '-a', '--amend', '-m', 'agent: one, amended'); // a commit only HEAD has
  const amended = await sh(wt, 'rev-parse', 'HEAD');
  const r = await coven(['gc'], { cwd: repo });
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /amend-owl: kept — 1 commit not on main; a rebase is in progress/);
  const forced = await coven(['gc', '--force'], { cwd: repo });
  assert.is(forced.code, 0, forced.stdout + forced.stderr);
  const ref = /saved at (refs\/coven\/gc\/amend-owl\/\S+)/.exec(forced.stdout)?.[1];
  assert.ok(ref, forced.stdout);
  assert.is(await sh(repo, 'rev-parse', `${ref}^1`), amended, 'the detached HEAD is saved');
});

test('gc keeps a dead worker stopped in a rebase even when nothing is unlanded or uncommitted', async () => {
  const repo = await tempRepo();
  const wt = await worker(repo, 'paused-owl');
  const landed = await commitFile(wt, 'a.txt', 'one\n', 'agent: one');
  await sh(repo, 'merge', '-q', '--ff-only', 'coven/paused-owl');
  await stoppedRebase(wt, 'HEAD~1', `break\npick ${landed}\n`);
  assert.is(await sh(wt, 'status', '--porcelain'), '');
  const r = await coven(['gc'], { cwd: repo });
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /paused-owl: kept — a rebase is in progress\n/);
  assert.ok(existsSync(join(wt, '.git')), 'the worktree is still there');
  assert.ok(await branchExists(repo, 'coven/paused-owl'));
});

test.run();
