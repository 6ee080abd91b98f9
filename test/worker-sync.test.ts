// What a worker sees when it dispatches: the worktree is brought level with main under
// the dispatch lock (after any wait for it), and what it holds unlanded is landed first.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { acquireLock, dispatchLockPath } from '../scripts/lib/locks/dispatch-lock.js';
import { join } from 'node:path';
import { sh, commitFile } from './helpers/repo.js';
import { writeFakeScript, type FakeRun } from './helpers/fake-claude.js';
import { dispatchRun, implementRun, mainHistory, outputOf, phaseOf, startWorker, stopAll, waitFor, writeDispatchScript, loopRepo } from './helpers/worker-procs.js';

const setUp = (issues: string[], extraRuns: FakeRun[] = []) => loopRepo(issues, (d) => [dispatchRun(d), ...issues.map((id) => implementRun(id)), ...extraRuns]);

const chosen = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

test('a worker that waited for the dispatch lock sees the issues as main has them then, not as before its wait', async () => {
  // w1 runs issue a while the test holds the dispatch lock; w2 comes up and waits for it.
  // Then w1 lands a and dispatches again (without the lock: it comes from a job). Neither
  // w1 nor w2, once it has the lock, may see a: it landed before they looked.
  const { repo, env, dir, choices } = await setUp(['a', 'b']);
  writeFileSync(join(dir, 'wait-go.sh'), `while [ ! -e '${join(dir, 'go')}' ]; do sleep 0.02; done\n`);
  writeFakeScript(env, [
    dispatchRun(writeDispatchScript(dir, choices)),
    implementRun('a', { steps: [{ bash: `sh ${join(dir, 'wait-go.sh')}` }, ...implementRun('a').steps!] }),
    implementRun('b'),
  ]);
  await sh(repo, 'config', 'core.hooksPath', '/dev/null'); // only the ref watch wakes them: fewer moving parts
  const patched = (await sh(repo, 'show', 'HEAD:.coven/agents/implement.md')).replace('Bash(git *)', 'Bash(git *),Bash(sh *)');
  await commitFile(repo, '.coven/agents/implement.md', patched + '\n', 'agents: the implement agent may run sh');
  const w1 = startWorker(repo, 'w1', env);
  const workers = [w1];
  const why = () => outputOf(workers);
  let lock: Awaited<ReturnType<typeof acquireLock>> | null = null;
  try {
    await waitFor(() => phaseOf(repo, 'w1') === 'running', 'w1 running issue a', 60_000, why);
    lock = await acquireLock({ path: dispatchLockPath(join(repo, '.git', 'coven')), owner: 'test' });
    const w2 = startWorker(repo, 'w2', env);
    workers.push(w2);
    await waitFor(() => phaseOf(repo, 'w2') === 'dispatching', 'w2 waiting for the dispatch lock', 60_000, why);
    writeFileSync(join(dir, 'go'), '');
    await waitFor(async () => (await mainHistory(repo)).subjects.includes('implement a'), 'w1 landed a', 60_000, why);
    if (lock.kind === 'acquired') await lock.release();
    lock = null;
    await waitFor(() => ['w1', 'w2'].every((n) => phaseOf(repo, n) === 'sleeping'), 'both asleep', 60_000, why);
    const picks = chosen(choices);
    assert.is(picks.filter((p) => p === 'issues/a.md').length, 1, `a was given out once: no dispatch saw it after it landed\n${why()}`);
    // b may be chosen by both at once (w1 dispatches without the lock): the claim lets one take it, the other is told
    const lostB = (why().match(/dispatch chose implement \(issue: issues\/b\.md\), but w[12] on \S+ took it first/g) ?? []).length;
    assert.is(picks.filter((p) => p === 'issues/b.md').length, 1 + lostB, `b was given out once, and chosen again only by a dispatch whose claim lost\n${why()}`);
    assert.equal((await mainHistory(repo)).subjects.filter((x) => x.startsWith('implement ')).sort(), ['implement a', 'implement b']);
  } finally {
    if (lock?.kind === 'acquired') await lock.release();
    writeFileSync(join(dir, 'go'), '');
    await stopAll(workers);
  }
});

test('a commit made by hand in a sleeping worker\'s worktree is landed when the worker wakes, before it dispatches', async () => {
  const { repo, env, dir } = await setUp([]);
  const w1 = startWorker(repo, 'w1', env);
  const why = () => outputOf([w1]);
  let ends: Awaited<ReturnType<typeof stopAll>> = [];
  try {
    await waitFor(() => phaseOf(repo, 'w1') === 'sleeping', 'w1 asleep', 60_000, why);
    const worktree = join(dir, 'worktrees', 'project', 'coven', 'w1');
    await commitFile(worktree, 'by-hand.txt', 'made in the worker\'s worktree\n', 'by hand');
    await commitFile(repo, 'notes.txt', 'wake up\n', 'user commit');
    await waitFor(async () => (await sh(repo, 'log', '--format=%s', 'main')).split('\n').includes('by hand') && phaseOf(repo, 'w1') === 'sleeping', 'the hand-made commit landed and w1 asleep again', 60_000, why);
    assert.ok((await mainHistory(repo)).linear);
    assert.is(readFileSync(join(repo, 'by-hand.txt'), 'utf8'), 'made in the worker\'s worktree\n');
  } finally {
    ends = await stopAll([w1]);
  }
  assert.is(ends[0]!.code, 0, why());
});

test.run();
