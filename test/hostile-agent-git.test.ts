// Hostile input: an agent that runs git commands it was told not to — checkout main,
// push, reset --hard — with permissions that let them really run (Bash(git *)).
// What "safe" means here:
//   - main moves only by coven's lands: `git checkout main` and `git push . HEAD:main`
//     are refused by git while main is checked out in the main worktree; a push to a
//     remote moves that remote only;
//   - when main is not checked out (the user switched branches), `git checkout main`
//     works: the worker puts its worktree back on its own branch afterwards and keeps
//     the commits made there under refs/coven/stray/;
//   - `git reset --hard` loses only the agent's own uncommitted edits: commits it took
//     off the branch are kept under refs/coven/dropped/;
//   - main moved backwards during a job (a forced push): its old tip is kept under
//     refs/coven/main-before/ and the worker says so.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempDir } from './helpers/repo.js';
import { covenRefsBesideClaims, covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun, type FakeStep } from './helpers/fake-claude.js';

const plan = (...steps: FakeStep[]): FakeRun[] => [
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  { match: { promptIncludes: 'Plan the issue' }, steps: [...steps, { text: 'Done.' }] },
];
const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);

async function once(repo: string, script: FakeRun[]) {
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  noStack(r.stdout + r.stderr);
  return { r, env };
}

/** How often main itself moved: its reflog (creation, then one entry per update). */
async function mainMoves(repo: string): Promise<string[]> {
  return (await sh(repo, 'reflog', 'show', '--format=%gs', 'refs/heads/main')).split('\n');
}

test('checkout main and push: git refuses what would move main, a remote moves alone, the work lands', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const origin = join(tempDir(), 'origin.git');
  await sh(repo, 'clone', '-q', '--bare', repo, origin);
  await sh(repo, 'remote', 'add', 'origin', origin);
  const before = await mainMoves(repo);
  const { r, env } = await once(
    repo,
    plan(
      { write: { path: 'plan.txt', content: 'plan\n' } },
      { commit: 'plan a' },
      { bash: 'git checkout main' },
      { bash: 'git switch main' },
      { bash: 'git push . HEAD:main' },
      { bash: 'git push' },
      { bash: 'git push -f origin HEAD:main' },
    ),
  );
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(readFakeLog(env).length, 2, 'dispatch and the agent ran');
  // main moved once, by the land, to the agent's commit on top of what it was
  assert.equal(await mainMoves(repo), ['coven land coven/w1: Fast-forward', ...before]);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.is(readFileSync(join(repo, 'plan.txt'), 'utf8'), 'plan\n');
  assert.is(await sh(repo, 'status', '--porcelain'), '');
  // the push to the remote went through: that remote is the agent's to publish to, not coven's main
  assert.is(await sh(origin, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.is(await covenRefsBesideClaims(repo, '%(refname)'), '');
});

test('git reset --hard: only the agent\'s uncommitted edit is lost; the commit it dropped is kept under refs/coven/dropped', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const { r } = await once(
    repo,
    plan(
      { write: { path: 'first.txt', content: 'first try\n' } },
      { commit: 'first try' },
      { read: 'README.md' },
      { edit: { path: 'README.md', old: '# test', new: '# edited' } },
      { bash: 'git reset --hard HEAD~1' },
      { write: { path: 'second.txt', content: 'second try\n' } },
      { commit: 'second try' },
    ),
  );
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'second try');
  assert.not.ok(existsSync(join(repo, 'first.txt')));
  const dropped = await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/dropped/w1/');
  assert.match(dropped, /^refs\/coven\/dropped\/w1\/\d{8}T\d{6}Z$/);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', dropped), 'first try');
  assert.match(r.stderr, new RegExp(`the agent reset its branch and dropped commits; they are kept as ${dropped}`));
  assert.is(readFileSync(join(repo, 'README.md'), 'utf8'), '# test\n', 'the uncommitted edit was the agent\'s to lose');
});

test.run();
