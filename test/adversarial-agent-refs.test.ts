// Adversarial pass (issue 11), a hostile agent: refs and branch settings it changes with
// plain git commands — its branch's upstream pointed at a branch of the human's, and the
// refs where coven keeps work deleted.
// What must hold: a worker's land goes to the main branch it recorded and to no other
// branch of the human's, and what coven kept under refs/coven/ stays kept.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sh } from './helpers/repo.js';
import { shellJob, shellRepo, workerOnce } from './helpers/hostile-job.js';

test('the agent points its branch\'s upstream at a branch of the human\'s (git branch -u release): the land still goes to main, release is untouched', async () => {
  const repo = await shellRepo();
  await sh(repo, 'branch', 'release');
  const release = await sh(repo, 'rev-parse', 'refs/heads/release');
  const { r, out } = await workerOnce(
    repo,
    shellJob([
      { write: { path: 'plan.txt', content: 'plan\n' } },
      { commit: 'plan a' },
      { bash: 'git branch -u release' },
    ]),
  );
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'rev-parse', 'refs/heads/release'), release, `release moved\n${out}`);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a', out);
  assert.match(out, /landed 1 commit\(s\) on main/);
  assert.match(out, /the agent pointed its branch's upstream at release; it is put back on main/);
});

test('the agent deletes every ref under refs/coven/ (work coven kept for earlier jobs and other workers): they are put back and named', async () => {
  const repo = await shellRepo();
  // work an earlier job left aside: a commit on no branch, kept only by its ref
  const tree = await sh(repo, 'rev-parse', 'HEAD^{tree}');
  const saved = await sh(repo, 'commit-tree', tree, '-p', 'HEAD', '-m', 'wip kept by coven');
  await sh(repo, 'update-ref', 'refs/coven/wip/w7/20260101T000000Z', saved);
  await sh(repo, 'update-ref', 'refs/coven/gc/w8/20260101T000000Z', saved);
  const { r, out } = await workerOnce(
    repo,
    shellJob([
      { write: { path: 'plan.txt', content: 'plan\n' } },
      { commit: 'plan a' },
      { bash: "git for-each-ref --format='%(refname)' refs/coven/ | while read -r ref; do git update-ref -d \"$ref\"; done" },
    ]),
  );
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'rev-parse', 'refs/coven/wip/w7/20260101T000000Z'), saved, out);
  assert.is(await sh(repo, 'rev-parse', 'refs/coven/gc/w8/20260101T000000Z'), saved);
  assert.match(out, /the agent deleted or moved 2 ref\(s\) under refs\/coven\/, where coven keeps work; they are put back/);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
});

test.run();
