// Hostile input: damaged files in the state dir — worker state files truncated, empty
// or binary; lock files left half-written by a crash. Workers keep working; `coven
// status` and `coven gc` name every damaged file and say what to do.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitFile, coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { outputOf, startWorker, waitFor } from './helpers/worker-procs.js';

const planOneAtATime = `---
description: writes a plan for one issue
args:
  - name: issue
    description: path of the issue file
max_concurrency: 1
claude_args: ["--allowedTools=Bash(git *),Read,Edit,Write"]
---
Plan the issue in {{issue}}.
`;

const planJob: FakeRun[] = [
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  { match: { promptIncludes: 'Plan the issue' }, steps: [{ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }, { text: 'Planned.' }] },
];
/** The same job for a worker that sleeps first: the dispatch after its wake is the one that takes the dispatch lock (policy.ts). */
const sleepThenPlan: FakeRun[] = [{ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nsleep: not yet\n</dispatch>' }] }, ...planJob];

/**
 * Starts worker w1 (one job, then it stops) and wakes it once it sleeps, with a commit on
 * main: its woken dispatch takes the dispatch lock (a worker just started does not).
 */
async function wokenWorker(repo: string, env: Record<string, string>): Promise<ReturnType<typeof startWorker>> {
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0);
  const w1 = startWorker(repo, 'w1', env, ['--max-cycles', '1']);
  await waitFor(() => /w1 sleeps: not yet/.test(w1.stdout()), 'w1 asleep', 60_000, () => outputOf([w1]));
  await commitFile(repo, 'notes.txt', 'wake up\n', 'a commit on main');
  return w1;
}

const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);

/** Writes a file in the state dir, with an old modification time when asked (a crash long ago). */
function damage(repo: string, path: string, content: string | Buffer, hoursAgo = 0): string {
  const file = join(repo, '.git', 'coven', path);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, content);
  if (hoursAgo > 0) {
    const t = Date.now() / 1000 - hoursAgo * 3600;
    utimesSync(file, t, t);
  }
  return file;
}

test('damaged state and lock files: the worker still dispatches, runs and lands; status and gc name every one', async () => {
  const repo = await covenRepo({ '.coven/agents/plan.md': planOneAtATime, 'issues/a.md': issueFile('Fix a') });
  const truncated = damage(repo, 'workers/w7.json', '{"name":"w7","pid":12');
  const empty = damage(repo, 'workers/w8.json', '');
  const binary = damage(repo, 'workers/w9.json', Buffer.from([0, 1, 2, 0xff, 0xfe]));
  damage(repo, 'locks/dispatch', '{"worker":"x","pid":', 1);
  damage(repo, 'locks/agent-plan.0', '', 1);

  const before = await coven(['status'], { cwd: repo });
  assert.is(before.code, 0, before.stderr);
  assert.match(before.stdout, /dispatch lock: lock file is corrupt \(not JSON \(truncated\?\)\)/);
  assert.match(before.stdout, /agent-plan\.0: lock file is corrupt \(empty\)/);
  for (const f of [truncated, empty, binary]) assert.ok(before.stdout.includes(`corrupt state file ${f}`), f);

  const env = { ...fakeClaudeEnv(sleepThenPlan), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const w1 = await wokenWorker(repo, env);
  const end = await w1.exited;
  assert.is(end.code, 0, outputOf([w1]));
  noStack(w1.stdout() + w1.stderr());
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  // the dead locks were broken, taken and released
  assert.equal(readdirSync(join(repo, '.git', 'coven', 'locks')).filter((f) => !f.startsWith('.')), []);

  const after = await coven(['status'], { cwd: repo });
  assert.match(after.stdout, /dispatch lock: free/);
  for (const f of [truncated, empty, binary]) assert.ok(after.stdout.includes(`corrupt state file ${f}`), f);

  const gc = await coven(['gc'], { cwd: repo });
  assert.is(gc.code, 0, gc.stderr);
  assert.match(gc.stdout, /corrupt state file .*w7\.json: not valid JSON \(truncated\?\)\n\s+Left alone: a running worker w7 would write it again at its next step\. If no worker w7 is running: rm .*w7\.json/);
  assert.match(gc.stdout, /w8\.json: empty file/);
  assert.ok(existsSync(truncated), 'gc never removes a file it cannot judge');
});

test('a damaged state file of the worker\'s own name, and a left-over temp file: the worker starts and works', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const own = damage(repo, 'workers/w1.json', '{"name":"w1","pid":');
  damage(repo, 'workers/.w1.4242.0badf00d.tmp', '{"name":"w1"');
  const env = { ...fakeClaudeEnv(planJob), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(r.code, 0, r.stdout + r.stderr);
  noStack(r.stdout + r.stderr);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.not.ok(existsSync(own), 'its own file was written again, then removed when it stopped');
  const status = await coven(['status'], { cwd: repo });
  assert.match(status.stdout, /^no workers$/m);
  assert.not.match(status.stdout, /corrupt/);
});

test('a directory where the dispatch lock goes: status and gc name it and the fix; a worker waits, saying so, and goes on once it is moved', async () => {
  const repo = await covenRepo({ '.coven/agents/plan.md': planOneAtATime, 'issues/a.md': issueFile('Fix a') });
  const dir = join(repo, '.git', 'coven', 'locks', 'dispatch');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'notes.txt'), 'mine\n');
  const aside = join(repo, '.git', 'coven', 'dispatch.not-a-lock');
  const fix = `lock file is corrupt (a directory, not a file); no worker can take the lock until it is moved away: mv ${dir} ${aside}`;
  for (const cmd of [['status'], ['gc']]) {
    const r = await coven(cmd, { cwd: repo });
    assert.is(r.code, 0, r.stdout + r.stderr);
    noStack(r.stdout + r.stderr);
    assert.ok(r.stdout.includes(cmd[0] === 'status' ? `dispatch lock: ${fix}` : `lock ${dir}: left alone (a directory, not a file)`), r.stdout);
  }
  const env = { ...fakeClaudeEnv(sleepThenPlan), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const w1 = await wokenWorker(repo, env);
  await waitFor(() => w1.stdout().includes(`waiting for dispatch (${fix})`), 'w1 waiting, naming the directory and the fix', 60_000, () => outputOf([w1]));
  renameSync(dir, aside);
  const end = await w1.exited;
  assert.is(end.code, 0, outputOf([w1]));
  noStack(w1.stdout() + w1.stderr());
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.is(readFileSync(join(aside, 'notes.txt'), 'utf8'), 'mine\n');
});

test.run();
