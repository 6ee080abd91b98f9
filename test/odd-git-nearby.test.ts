// Hostile input, continued from odd-git-states.test.ts: states near the ones issue 11
// lists — HEAD on a tag, an empty commit, a shallow-making fetch, another worker's
// branch checked out and committed on, a sparse checkout. Same meaning of "safe".

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, tempDir } from './helpers/repo.js';
import { commitPlan, once, onARef, plan, repoWithIssue } from './helpers/odd-states.js';

test('HEAD on a tag (detached): the worker goes back to its branch and lands', async () => {
  const repo = await repoWithIssue();
  await sh(repo, 'tag', 'v1');
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git checkout -q v1' }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
});

test('an empty commit: it lands like any other', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan({ bash: 'git commit -q --allow-empty -m "empty one"' }));
  assert.is(r.code, 0, out);
  await onARef(repo, 'empty one');
});

test('git fetch --depth 1 makes the repository shallow: the shallow file the job made is moved aside and main\'s history is whole again', async () => {
  const repo = await repoWithIssue();
  const before = await sh(repo, 'rev-list', '--count', 'main');
  const { r, out } = await once(repo, plan(...commitPlan, { bash: `git fetch -q --depth 1 'file://${repo}' main` }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'rev-parse', '--is-shallow-repository'), 'false');
  assert.is(await sh(repo, 'rev-list', '--count', 'main'), String(Number(before) + 1), 'every commit of main shows again');
  assert.match(out, /the agent made the repository shallow \(git fetch --depth\)/);
});

test('a git checkout of another worker\'s branch (--ignore-other-worktrees) and a commit there: that branch is put back, the commit kept', async () => {
  const repo = await repoWithIssue();
  const other = join(tempDir('coven-other-'), 'w2');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'coven/w2', other, 'main');
  writeFileSync(join(other, 'w2.txt'), 'w2\n');
  await sh(other, 'add', 'w2.txt');
  await sh(other, 'commit', '-qm', 'w2 work');
  const w2 = await sh(repo, 'rev-parse', 'coven/w2');
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git checkout -q --ignore-other-worktrees coven/w2 && echo h > hijack.txt && git add hijack.txt && git commit -qm hijack' }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'rev-parse', 'coven/w2'), w2, "the other worker's branch is where it was");
  assert.is(await sh(other, 'status', '--porcelain'), '', "and its worktree matches it");
  await onARef(repo, 'hijack');
  assert.match(out, /the agent checked out coven\/w2, another worker's branch, and committed there \(kept as refs\/coven\/stray\/w1\/\S+\); coven put coven\/w2 back/);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
});

test('a sparse checkout in the worktree: the commit lands; the main worktree stays whole', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan(...commitPlan, { bash: "git sparse-checkout set --no-cone '/plan.txt' '/.coven/'" }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.ok(existsSync(join(repo, 'README.md')), 'the main worktree is not sparse');
  assert.is(await sh(repo, 'status', '--porcelain'), '');
});

test.run();
