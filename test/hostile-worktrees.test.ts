// Hostile input: the user's hands on the worktrees under a running worker — its worktree
// deleted (while it sleeps, during a session, between runs) and the main worktree
// switched to another branch. No commit is lost and no stack trace is printed.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, commitFile, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { startCoven, until } from './helpers/worker-process.js';
import { shellAgent } from './helpers/hostile-job.js'; // may run any shell command (the worktree-deleting test needs rm)

const choose = (...lines: string[]): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });
const sleepForever: FakeRun = { ...choose('sleep: nothing to do'), times: 'unlimited' };
const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);

test('the worktree deleted by hand while the worker sleeps: it says so, makes a new one and goes on', async () => {
  const repo = await covenRepo();
  const base = tempDir('coven-wt-');
  const env = { ...fakeClaudeEnv([sleepForever]), COVEN_WORKTREE_BASE: base };
  const worker = startCoven(['worker', '--name', 'w1', '--max-idle', '2'], { cwd: repo, env });
  await worker.waitFor(/w1 sleeps: nothing to do/);
  const state = join(repo, '.git', 'coven', 'workers', 'w1.json');
  await until(() => existsSync(state) && readFileSync(state, 'utf8').includes('"phase": "sleeping"'), 'w1 asleep');
  const worktree = join(base, 'project', 'coven', 'w1');
  rmSync(worktree, { recursive: true, force: true });
  await commitFile(repo, 'notes.txt', 'the user commits\n'); // main moves: the worker wakes up

  const r = await worker.exited;
  const out = worker.output();
  assert.is(r.code, 0, out);
  assert.match(out, /the worktree of w1 \(.*coven\/w1\) was deleted while the worker ran/);
  assert.match(out, /Nothing committed was lost: the branch coven\/w1 keeps every commit/);
  assert.match(out, /w1 gave coven\/w1 a new worktree at .*coven\/w1 and goes on/);
  assert.is(out.match(/w1 sleeps: nothing to do/g)?.length, 2); // it dispatched again after waking
  noStack(out);
  assert.not.ok(existsSync(worktree), 'removed at the end as usual');
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
  assert.is(await sh(repo, 'worktree', 'list', '--porcelain').then((l) => l.split('\n').filter((x) => x.startsWith('worktree ')).length), 1);
});

test('the worktree deleted during the agent\'s session: the commit it made lands from the branch', async () => {
  const repo = await covenRepo({ '.coven/agents/shell.md': shellAgent, 'issues/a.md': issueFile('Fix a') });
  const base = tempDir('coven-wt-');
  const env = {
    ...fakeClaudeEnv([
      choose('agent: shell', 'issue: issues/a.md'),
      { match: { promptIncludes: 'Work on the issue in issues/a.md' }, steps: [{ write: { path: 'fix.txt', content: 'fixed\n' } }, { commit: 'fix a' }, { write: { path: 'draft.txt', content: 'unsaved\n' } }, { bash: 'rm -rf "$PWD"' }, { text: 'Oops.' }] },
    ]),
    COVEN_WORKTREE_BASE: base,
  };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /the worktree of w1 .* was deleted while the worker ran/);
  assert.match(r.stderr, /keeps every commit \(1 not on main yet, landed next\)/);
  assert.match(r.stderr, /Uncommitted files that were in that folder are gone/);
  noStack(r.stdout + r.stderr);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'fix a');
  assert.is(readFileSync(join(repo, 'fix.txt'), 'utf8'), 'fixed\n');
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
  assert.not.ok(existsSync(join(base, 'project', 'coven', 'w1')));
});

test('a branch whose worktree was deleted gets a new one when its worker starts again, and lands first', async () => {
  const repo = await covenRepo();
  const base = tempDir('coven-wt-');
  const spawned = await coven(['spawn', 'coven/w1', '--worktree-base', base], { cwd: repo });
  assert.is(spawned.code, 0, spawned.stderr);
  const worktree = spawned.stdout.trim();
  await commitFile(worktree, 'left.txt', 'from an earlier run\n', 'left over');
  rmSync(worktree, { recursive: true, force: true });

  const env = { ...fakeClaudeEnv([choose('sleep: nothing to do')]), COVEN_WORKTREE_BASE: base };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /coven\/w1 had no worktree \(deleted by hand\?\); gave it a new one at .*coven\/w1/);
  assert.match(r.stdout, /landed 1 commit\(s\) on main/);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'left over');
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
});

test('the user switches the main worktree to another branch: lands still go to main; their branch and files are untouched', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const initial = await sh(repo, 'rev-parse', 'HEAD');
  const base = tempDir('coven-wt-');
  const env = {
    ...fakeClaudeEnv([
      choose('agent: plan', 'issue: issues/a.md'),
      {
        match: { promptIncludes: 'Plan the issue' },
        // the user switches branches (and starts editing) while the agent works
        steps: [{ bash: `git -C '${repo}' switch -q -c feature` }, { write: { path: 'plan.txt', content: 'the plan\n' } }, { commit: 'plan a' }, { text: 'Planned.' }],
      },
      choose('sleep: nothing left'),
    ]),
    COVEN_WORKTREE_BASE: base,
  };
  writeFileSync(join(repo, 'README.md'), 'the user is editing this\n');
  const r = await coven(['worker', '--name', 'w1', '--max-idle', '1'], { cwd: repo, env });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /landed 1 commit\(s\) on main/);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.is(await sh(repo, 'rev-parse', 'main~1'), initial);
  assert.is(await sh(repo, 'symbolic-ref', '--short', 'HEAD'), 'feature');
  assert.is(await sh(repo, 'rev-parse', 'feature'), initial);
  assert.is(readFileSync(join(repo, 'README.md'), 'utf8'), 'the user is editing this\n');
  assert.not.ok(existsSync(join(repo, 'plan.txt')), "the land does not touch the user's checkout of feature");
  assert.is(await sh(repo, 'status', '--porcelain'), 'M README.md');
});

test.run();
