// Hostile input: an agent that runs git commands on the main branch while the user has
// switched the main worktree to another branch (so git's "checked out elsewhere" guard
// does not stop it). See hostile-agent-git.test.ts for what "safe" means.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun, type FakeStep } from './helpers/fake-claude.js';

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

test('main not checked out: the agent checks it out and commits there; the worker returns to its branch and keeps everything', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const { r } = await once(
    repo,
    plan(
      { bash: `git -C '${repo}' switch -q -c feature` }, // the user, meanwhile
      { bash: 'git checkout -q main' },
      { write: { path: 'direct.txt', content: 'on main\n' } },
      { commit: 'committed on main directly' },
    ),
  );
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'committed on main directly');
  const stray = await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/stray/w1/');
  assert.match(r.stderr, /the agent committed off its branch; those commits are saved as refs\/coven\/stray\/w1\//);
  assert.is(await sh(repo, 'rev-parse', stray), await sh(repo, 'rev-parse', 'main'));
  assert.is(await sh(repo, 'symbolic-ref', '--short', 'HEAD'), 'feature');
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '', 'the worker went back to its branch, found nothing to land, and cleaned up');
});

test('an agent that switches to a branch of its own and leaves edits there: the edits are saved and the worker says where', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const { r } = await once(repo, plan({ bash: 'git switch -q -c side' }, { write: { path: 'draft.txt', content: 'half done\n' } }));
  assert.is(r.code, 0, r.stdout + r.stderr);
  const out = r.stdout + r.stderr;
  const said = /uncommitted changes on a branch it switched to; saved as (refs\/coven\/wip\/w1\/\S+), not landed/.exec(out);
  assert.ok(said, out);
  assert.is(await sh(repo, 'show', `${said![1]}:draft.txt`), 'half done');
});

test('main forced backwards during a job: its old tip is kept under refs/coven/main-before and the worker says so', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const tip = await sh(repo, 'rev-parse', 'main');
  const { r } = await once(
    repo,
    plan(
      { bash: `git -C '${repo}' switch -q -c feature` }, // main is no longer checked out: a push to it is allowed
      { bash: 'git push -q -f . HEAD~1:main' },
      { write: { path: 'plan.txt', content: 'plan\n' } },
      { commit: 'plan a' },
    ),
  );
  assert.is(r.code, 0, r.stdout + r.stderr);
  const kept = await sh(repo, 'for-each-ref', '--format=%(refname)', 'refs/coven/main-before/w1/');
  assert.match(kept, /^refs\/coven\/main-before\/w1\/\d{8}T\d{6}Z$/);
  assert.is(await sh(repo, 'rev-parse', kept), tip);
  assert.match(r.stderr, /main moved backwards while plan ran \(from [0-9a-f]{10} to [0-9a-f]{10}\)/);
  assert.match(r.stderr, new RegExp(`Its old tip is kept as ${kept}`));
  assert.match(r.stderr, /git log --oneline main\.\.refs\/coven\/main-before/);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  const dropped = await sh(repo, 'log', '-1', '--format=%s', tip);
  assert.not.match(await sh(repo, 'log', '--format=%s', 'main'), new RegExp(`^${dropped}$`, 'm'), 'the rewind stands: the land did not bring the dropped commit back');
  // the command the worker printed puts it back, though main has moved on since (the land)
  const pick = /cherry-pick ([0-9a-f]{12})\.\.(refs\/coven\/main-before\/\S+)/.exec(r.stderr);
  assert.ok(pick, r.stderr);
  await sh(repo, 'switch', '-q', 'main');
  await sh(repo, 'cherry-pick', `${pick![1]}..${pick![2]}`);
  assert.match(await sh(repo, 'log', '--format=%s', 'main'), new RegExp(`^${dropped}$`, 'm'));
  assert.is(await sh(repo, 'log', '--format=%s', '-2', 'main'), `${dropped}\nplan a`);
});

test.run();
