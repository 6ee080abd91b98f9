// Hostile input: git states an agent leaves its worktree in that coven did not make — a
// nested repository, an orphan branch, its own branch deleted, an operation (rebase,
// bisect, merge, cherry-pick, revert, am) left in progress, a lock file under main's ref,
// HEAD on a tag or on another worker's branch. What "safe" means here:
//   - the worker never crashes (no stack trace) and names what it found;
//   - every commit the agent made is on a ref `git log` shows (its branch, or
//     refs/coven/…), never only in a reflog;
//   - the worktree goes back on its branch, and the counts in messages are right.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sh } from './helpers/repo.js';
import { commitPlan, once, onARef, plan, repoWithIssue } from './helpers/odd-states.js';

test('a nested repository with no commit, left uncommitted: no crash; the commit lands; the nested repository is kept and named', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git init -q sub && echo inner > sub/inner.txt' }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  const said = /a nested git repository at sub\/; moved to (\S+)/.exec(out);
  assert.ok(said, out);
  assert.ok(existsSync(join(said![1]!, 'inner.txt')), 'its files are kept');
  assert.ok(existsSync(join(said![1]!, '.git')), 'and its own git dir');
});

test('git checkout --orphan with nothing committed: no crash; the worker goes back to its branch and lands', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git checkout -q --orphan x' }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.match(out, /an orphan branch x/);
});

test('git checkout --orphan and a commit on it: the orphan commit is kept on a ref and named; the branch lands', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git checkout -q --orphan x && git rm -rqf . && echo o > o.txt && git add o.txt && git commit -qm "orphan work"' }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  await onARef(repo, 'orphan work');
  assert.match(out, /refs\/coven\/stray\/w1\//);
});

test('the agent deletes its own branch after committing (detach, branch -D): the branch is made again and its commit lands', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git checkout -q --detach && git branch -q -D coven/w1' }));
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.match(out, /the agent deleted its branch coven\/w1/);
  assert.not.match(out, /Kept: the branch/);
});

test('the agent deletes its own branch with update-ref -d while on it: the branch is made again at its last commit, which lands', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git update-ref -d refs/heads/coven/w1' }));
  assert.is(r.code, 0, out);
  assert.not.match(out, /uncommitted changes/, 'the files match its last commit: nothing to save');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.match(out, /the agent deleted its branch coven\/w1/);
});

test('the agent deletes its branch and resets away: every commit it made stays on a ref', async () => {
  const repo = await repoWithIssue();
  const { r, out } = await once(repo, plan(...commitPlan, { bash: 'git checkout -q --detach && git branch -q -D coven/w1 && git checkout -q --detach HEAD~1' }));
  assert.ok(r.code === 0 || r.code === 3, out);
  await onARef(repo, 'plan a');
  assert.match(out, /commits the agent made were left on no branch \(only in a reflog: it deleted or moved the ref that held them\); they are kept as refs\/coven\/dropped\/w1\//);
});

test.run();
