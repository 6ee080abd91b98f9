// The land target is the main branch coven recorded (<state dir>/main-branch), not
// whatever the main worktree has checked out: a user who starts a feature branch there
// (`git checkout -b my-feature`, at main's tip) or detaches HEAD keeps getting lands on
// main, moved by compare-and-swap, with their checkout left alone, and told so.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';

const plan: FakeRun[] = [
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  { match: { promptIncludes: 'Plan the issue' }, steps: [{ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }, { text: 'Done.' }] },
];
const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);

/** A coven repository whose recorded main branch is main (as `coven hooks install` or a first waiter leaves it). */
async function recordedRepo(): Promise<string> {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  mkdirSync(join(repo, '.git', 'coven'), { recursive: true });
  writeFileSync(join(repo, '.git', 'coven', 'main-branch'), 'refs/heads/main\n');
  return repo;
}

async function workerOnce(repo: string) {
  const env = { ...fakeClaudeEnv(plan), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  noStack(r.stdout + r.stderr);
  return { r, out: r.stdout + r.stderr };
}

test('git checkout -b my-feature in the main worktree before the worker starts: the land goes to the recorded main by compare-and-swap; my-feature and the checkout are untouched, and it says so', async () => {
  const repo = await recordedRepo();
  const initial = await sh(repo, 'rev-parse', 'HEAD');
  await sh(repo, 'checkout', '-q', '-b', 'my-feature');
  writeFileSync(join(repo, 'README.md'), 'the user is editing this\n');
  const { r, out } = await workerOnce(repo);
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.is(await sh(repo, 'rev-parse', 'main~1'), initial);
  assert.is(await sh(repo, 'rev-parse', 'my-feature'), initial, 'my-feature did not move');
  assert.is(await sh(repo, 'symbolic-ref', '--short', 'HEAD'), 'my-feature');
  assert.not.ok(existsSync(join(repo, 'plan.txt')), 'the checkout was not touched');
  assert.is(readFileSync(join(repo, 'README.md'), 'utf8'), 'the user is editing this\n');
  assert.match(out, /landed 1 commit\(s\) on main/);
  assert.match(out, /main is checked out nowhere, so only the branch moved \(compare-and-swap\); your checkout of my-feature was not touched/);
  assert.is(await sh(repo, 'reflog', 'show', '-1', '--format=%gs', 'refs/heads/main'), 'coven land coven/w1: fast-forward');
});

test('a detached HEAD at main in the main worktree: the worker starts and lands on the recorded main; HEAD stays detached', async () => {
  const repo = await recordedRepo();
  const initial = await sh(repo, 'rev-parse', 'HEAD');
  await sh(repo, 'checkout', '-q', '--detach');
  const { r, out } = await workerOnce(repo);
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.is(await sh(repo, 'rev-parse', 'HEAD'), initial, 'the detached HEAD did not move');
  assert.match(out, /your main worktree \(a detached HEAD\) was not touched/);
});

test('coven land by hand (a branch with no upstream) with my-feature checked out in the main worktree: lands on the recorded main', async () => {
  const repo = await recordedRepo();
  const wt = join(tempDir(), 'topic');
  await sh(repo, 'worktree', 'add', '-q', '--no-track', '-b', 'topic', wt, 'main');
  writeFileSync(join(wt, 'topic.txt'), 'topic\n');
  await sh(wt, 'add', 'topic.txt');
  await sh(wt, 'commit', '-qm', 'topic work');
  await sh(repo, 'checkout', '-q', '-b', 'my-feature');
  const r = await coven(['land', '--worktree', wt], { cwd: repo });
  noStack(r.stdout + r.stderr);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'topic work');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'my-feature'), 'coven agents');
  assert.match(r.stdout + r.stderr, /landed 1 commit from topic on main/);
  assert.match(r.stdout + r.stderr, /your checkout of my-feature was not touched/);
});

test('status and the wait step name the recorded main, not the branch checked out in the main worktree', async () => {
  const repo = await recordedRepo();
  await sh(repo, 'checkout', '-q', '-b', 'my-feature');
  const status = await coven(['status', '--json'], { cwd: repo });
  assert.is(JSON.parse(status.stdout).main.branch, 'main', status.stdout);
  const wait = await coven(['wait', '--since', 'main', '--timeout', '1s'], { cwd: repo });
  noStack(wait.stdout + wait.stderr);
  assert.match(wait.stdout + wait.stderr, /main did not move/);
  assert.is(readFileSync(join(repo, '.git', 'coven', 'main-branch'), 'utf8'), 'refs/heads/main\n', 'the record is not rewritten to my-feature');
});

test('with nothing recorded, the first worker records the branch the main worktree has checked out; a later checkout -b does not change it', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const env = { ...fakeClaudeEnv([{ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nsleep: nothing\n</dispatch>' }] }]), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const first = await coven(['worker', '--once', '--name', 'w0'], { cwd: repo, env });
  assert.is(first.code, 0, first.stdout + first.stderr);
  assert.is(readFileSync(join(repo, '.git', 'coven', 'main-branch'), 'utf8'), 'refs/heads/main\n');
  await sh(repo, 'checkout', '-q', '-b', 'my-feature');
  const { r, out } = await workerOnce(repo);
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'my-feature'), 'coven agents');
});

test.run();
