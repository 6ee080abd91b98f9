// Hostile input: a repository and a worktree base whose paths have spaces, quotes, $(…)
// and non-ASCII characters. Everything works and nothing in a path is ever run (see
// hostile-branch-names.test.ts for branch names).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { commitFile, coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun, type FakeStep } from './helpers/fake-claude.js';

/** If any shell ever expands a name, `touch $MARK` leaves this file behind. */
const marker = join(tempDir('coven-marker-'), 'pwned');
const env0 = { MARK: marker };
const planJob = (...steps: FakeStep[]): FakeRun[] => [
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  { match: { promptIncludes: 'Plan the issue' }, steps: [...steps, { text: 'Done.' }] },
];
const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);

test('a repository path with spaces, quotes and non-ASCII characters: hooks, worker --once, spawn and land work', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') }, `it's my prøject ✓ $(touch x) ; y`);
  const base = join(tempDir(), 'work trees ä');
  const hooks = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(hooks.code, 0, hooks.stderr);

  const env = { ...env0, ...fakeClaudeEnv(planJob({ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' })), COVEN_WORKTREE_BASE: base };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(r.code, 0, r.stdout + r.stderr);
  noStack(r.stdout + r.stderr);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.ok(existsSync(join(repo, '.git', 'coven', 'wake')), 'the post-merge hook of the land woke the sleepers');

  const spawned = await coven(['spawn', 'feature/ü-ß', '--worktree-base', base], { cwd: repo });
  assert.is(spawned.code, 0, spawned.stderr);
  const worktree = spawned.stdout.trim();
  assert.is(worktree, join(base, `it's my prøject ✓ $(touch x) ; y`, 'feature', 'ü-ß'));
  await commitFile(worktree, 'ü.txt', 'ü\n', 'ü');
  const land = await coven(['land'], { cwd: worktree });
  assert.is(land.code, 0, land.stderr);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'ü');
  assert.not.ok(existsSync(worktree));
  assert.not.ok(existsSync(marker));
});

test.run();
