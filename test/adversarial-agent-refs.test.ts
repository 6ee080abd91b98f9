// Adversarial pass (issue 11), a hostile agent: refs and branch settings it changes with
// plain git commands — its branch's upstream pointed at a branch of the human's, a branch
// planted under a name a later worker will take. What must hold: a worker's land goes to
// the main branch it recorded and to no other branch of the human's.

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

test.run();
