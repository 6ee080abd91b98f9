// A worker stopped by a first signal mid-work: a running agent is ended and its commits
// kept; a rebase in progress is aborted, the branch kept; exit 3 with what to do next.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh } from './helpers/repo.js';
import { readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { childPids, dispatchRun, implementRun, outputOf, phaseOf, pidAlive, startWorker, waitFor, loopRepo, gone } from './helpers/worker-procs.js';

const setUp = (issues: string[], runs: (dispatch: string, repo: string) => FakeRun[]) => loopRepo(issues, runs, 'coven-exit-');


test('SIGINT while the agent runs: the session is ended, its commit kept on the branch, exit 3 with how to land or discard it', async () => {
  const { repo, env, worktree } = await setUp(['a'], (d) => [dispatchRun(d), implementRun('a', { steps: [...implementRun('a').steps!.slice(0, 3), { sleep_ms: 600_000 }] })]);
  const w1 = startWorker(repo, 'w1', env);
  const why = () => outputOf([w1]);
  await waitFor(async () => (await sh(repo, 'rev-list', '--count', 'main..coven/w1').catch(() => '0')) === '1', 'the agent committed', 60_000, why);
  const commit = await sh(repo, 'rev-parse', 'coven/w1');
  const sessions = childPids(w1.pid);
  w1.child.kill('SIGINT');
  const end = await w1.exited;
  assert.is(end.code, 3, why());
  for (const pid of sessions) assert.not.ok(pidAlive(pid), 'the agent session was ended');
  assert.is(await sh(repo, 'rev-parse', 'coven/w1'), commit, 'the branch keeps the commit');
  assert.ok(existsSync(join(worktree, 'done', 'a.txt')), 'the worktree is kept');
  assert.is(await sh(worktree, 'status', '--porcelain'), '');
  assert.match(w1.stderr(), /w1 stopped with work that is not on main: 1 commit/);
  assert.match(w1.stderr(), /Kept: the branch coven\/w1 and the worktree/);
  assert.match(w1.stderr(), /coven land/);
  assert.match(w1.stderr(), /branch -D coven\/w1   \(discard it\)/, w1.stderr());
  assert.is(readFakeLog(env).find((c) => c.prompts[0]?.includes('Implement the issue'))?.exitCode, 143, 'the agent got SIGTERM');

  // the message's advice works: a new worker of that name picks the work up and lands it
  const again = startWorker(repo, 'w1', env, ['--max-idle', '1']);
  assert.is((await again.exited).code, 0, outputOf([again]));
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'implement a');
  assert.ok(await gone(repo, worktree));
});

test('SIGTERM while a conflict is being resolved: the rebase is aborted, the branch keeps its commits, exit 3', async () => {
  const { repo, env, worktree } = await setUp(['a'], (d, repo) => [
    dispatchRun(d),
    // the agent edits README.md; the user edits it on main meanwhile: the land conflicts
    { match: { promptIncludes: 'Implement the issue in issues/a.md.' }, steps: [{ read: 'README.md' }, { edit: { path: 'README.md', old: '# test', new: '# agent' } }, { commit: 'implement a' }, { bash: `git -C ${repo} commit -q -am user-edit` }, { text: 'done' }] },
    { match: { promptIncludes: 'stopped on a rebase conflict' }, steps: [{ sleep_ms: 600_000 }] },
  ]);
  // the agent's user-edit commit needs a change to commit in the main worktree
  writeFileSync(join(repo, 'README.md'), '# user\n');
  const w1 = startWorker(repo, 'w1', env);
  const why = () => outputOf([w1]);
  await waitFor(() => phaseOf(repo, 'w1') === 'resolving' && existsSync(join(repo, '.git', 'worktrees', 'w1', 'rebase-merge')), 'w1 resolving a conflict, rebase in progress', 60_000, why);
  const commit = await sh(repo, 'rev-parse', 'coven/w1');
  w1.child.kill('SIGTERM');
  const end = await w1.exited;
  assert.is(end.code, 3, why());
  assert.not.ok(existsSync(join(repo, '.git', 'worktrees', 'w1', 'rebase-merge')), 'the rebase was aborted');
  assert.is(await sh(worktree, 'branch', '--show-current'), 'coven/w1');
  assert.is(await sh(repo, 'rev-parse', 'coven/w1'), commit, 'the branch is as it was before the land');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'user-edit');
  assert.match(w1.stderr(), /w1 stopped with work that is not on main: 1 commit/);
});

test.run();
