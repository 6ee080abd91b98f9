// The worker loop end to end: real `coven worker` processes (no --once), real git, the
// fake claude with a scripted dispatch that picks free issues.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sh, commitFile } from './helpers/repo.js';
import { issueFile } from './helpers/coven-repo.js';
import { readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { dispatchRun, implementRun, isDispatch, mainHistory, outputOf, phaseOf, startWorker, stopAll, waitFor, type WorkerProc, loopRepo } from './helpers/worker-procs.js';

const ids = ['a', 'b', 'c', 'd', 'e', 'f'];

const setUp = (issues: string[], extraRuns: FakeRun[] = []) => loopRepo(issues, (d) => [dispatchRun(d), ...issues.map((id) => implementRun(id)), ...extraRuns]);

/** One line per fake session: when, where, what it was asked, how it ended. */
const describeCalls = (calls: ReturnType<typeof readFakeLog>): string =>
  calls
    .map((c) => `${c.startedAt}…${c.endedAt.slice(11)} ${c.cwd.split('/').pop()} exit ${c.exitCode} ${(c.prompts[0] ?? '').split('\n')[0]!.slice(0, 60)}`)
    .join('\n');

const chosen = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

test('3 workers, 6 issues: all land on a linear main, each issue run once (a dispatch that chose a taken one is told who took it); a commit on main wakes one for the new issue', async () => {
  const { repo, env, choices, dir } = await setUp(ids, [implementRun('g')]);
  const names = ['w1', 'w2', 'w3'];
  const workers: WorkerProc[] = names.map((n) => startWorker(repo, n, env));
  const why = () => outputOf(workers);
  let ends: Awaited<ReturnType<typeof stopAll>> = [];
  try {
    const landed = async () => (await sh(repo, 'log', '--format=%s', 'main')).split('\n').filter((s) => s.startsWith('implement ')).length;
    await waitFor(async () => (await landed()) === 6 && names.every((n) => phaseOf(repo, n) === 'sleeping'), 'six issues landed and every worker asleep', 90_000, why);

    const history = await mainHistory(repo);
    assert.ok(history.linear, 'main has no merge commit');
    assert.equal(history.subjects.filter((s) => s.startsWith('implement ')).sort(), ids.map((id) => `implement ${id}`));
    assert.not.ok(existsSync(join(repo, 'issues')), 'the user\'s checkout moved with main: every issue is gone');
    assert.equal(readdirSync(join(repo, 'done')).sort(), ids.map((id) => `${id}.txt`));
    const sessionsBefore = readFakeLog(env).filter(isDispatch).length;

    // the user files a new issue on main, as usual: the post-commit hook wakes the workers
    await commitFile(repo, 'issues/g.md', issueFile('Issue g'), 'file issue g');
    await waitFor(async () => (await landed()) === 7 && names.every((n) => phaseOf(repo, n) === 'sleeping'), 'issue g landed and every worker asleep again', 60_000, why);
    assert.ok(readFakeLog(env).filter(isDispatch).length > sessionsBefore, 'the commit woke a worker into a dispatch session');

    const calls = readFakeLog(env);
    // a worker back from a job dispatches without the lock (claims keep a job to one worker):
    // two dispatches may choose the same issue; the one whose claim lost is told and chooses again
    const picks = chosen(choices);
    assert.equal([...new Set(picks)].sort(), [...ids, 'g'].map((id) => `issues/${id}.md`), `every issue was dispatched\n${why()}\n${describeCalls(calls)}`);
    const told = (why().match(/(took it first|landed it after this dispatch looked); nothing was taken/g) ?? []).length;
    assert.is(told, picks.length - new Set(picks).size, `each issue chosen twice was a claim lost, and said so\n${why()}`);
    for (const id of [...ids, 'g']) {
      const runs = calls.filter((c) => c.prompts[0]?.includes(`Implement the issue in issues/${id}.md.`));
      assert.is(runs.length, 1, `issue ${id} was implemented by exactly one session\n${why()}\n${describeCalls(calls)}`);
      assert.is(runs[0]!.exitCode, 0);
    }
    assert.ok(new Set(calls.filter((c) => !isDispatch(c)).map((c) => c.cwd)).size >= 2, 'the work was shared between workers');
  } finally {
    ends = await stopAll(workers);
  }
  assert.equal(
    ends.map((e) => e.code),
    [0, 0, 0],
    why(),
  );
  // everything landed: every worker removed its worktree, branch and state file
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
  assert.equal(readdirSync(join(dir, 'worktrees', 'project', 'coven')), []);
  assert.equal(readdirSync(join(repo, '.git', 'coven', 'workers')), []);
});

test.run();
