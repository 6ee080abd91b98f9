// Adversarial pass (issue 11), a hostile agent: what it writes into coven's state folder
// (`.git/coven/`, reachable from its worktree by a path) and what it answers as dispatch.
// What must hold: a state file the agent forged never makes coven act on another
// worker's worktree or branch, and a dispatch answer is only ever run once it names a
// real agent.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitFile, coven, sh, tempDir } from './helpers/repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { noStack, shellRepo, workerOnce } from './helpers/hostile-job.js';
import { startCoven, until } from './helpers/worker-process.js';

const sleepForever: FakeRun = { match: { promptIncludes: 'Choose the next job' }, times: 'unlimited', steps: [{ text: '<dispatch>\nsleep: nothing to do\n</dispatch>' }] };

test('a state file the agent forges for a dead worker with a live worker\'s branch: coven gc leaves the live worker\'s worktree and branch alone', async () => {
  const repo = await shellRepo();
  const base = tempDir('coven-wt-');
  const w2Worktree = join(base, 'project', 'coven', 'w2');
  const forged = {
    name: 'w9', pid: 999_999_999, pid_start: null, host: readFileSync('/etc/hostname', 'utf8').trim() || 'localhost', branch: 'coven/w2', worktree: w2Worktree,
    phase: 'running', agent: null, args: {}, since: new Date().toISOString(), started: new Date().toISOString(), session_id: null,
    cycles: 0, landed: 0, cost_usd: 0, waiting_on: null, last_sleep: null,
  };
  const stateFile = join(repo, '.git', 'coven', 'workers', 'w9.json');
  const { r, out } = await workerOnce(repo, [
    { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: shell\nissue: issues/a.md\n</dispatch>' }] },
    { match: { promptIncludes: 'Work on the issue' }, steps: [{ write: { path: stateFile, content: JSON.stringify(forged, null, 2) } }, { text: 'Done.' }] },
  ]);
  assert.is(r.code, 0, out);
  assert.ok(existsSync(stateFile), `the agent wrote the forged file\n${out}`);
  await commitFile(repo, 'note.txt', 'main moves\n');
  const w2 = startCoven(['worker', '--name', 'w2'], { cwd: repo, env: { ...fakeClaudeEnv([sleepForever]), COVEN_WORKTREE_BASE: base } });
  try {
    await w2.waitFor(/w2 sleeps: nothing to do/);
    assert.ok(existsSync(w2Worktree));
    for (const args of [['gc'], ['gc', '--force']]) {
      const gc = await coven(args, { cwd: repo });
      noStack(gc.stdout + gc.stderr);
      assert.ok(existsSync(w2Worktree), `coven ${args.join(' ')} removed the live worker's worktree:\n${gc.stdout}${gc.stderr}`);
      assert.is(await sh(repo, 'rev-parse', '--verify', '--quiet', 'refs/heads/coven/w2').then(Boolean), true, `coven ${args.join(' ')} deleted coven/w2`);
      assert.match(gc.stdout + gc.stderr, /w9/);
    }
    await until(() => w2.output().includes('sleeps'), 'w2 still sleeping');
  } finally {
    process.kill(w2.pid, 'SIGTERM');
    await w2.exited;
  }
});

test('a dispatch answer that names an agent by a path (../plan, .coven/agents/shell.md) is never run: it gets a corrective resume', async () => {
  const repo = await shellRepo();
  const env = { ...fakeClaudeEnv([
    { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: ../shell\nissue: issues/a.md\n</dispatch>' }] },
    { match: { resume: true }, steps: [{ text: '<dispatch>\nagent: .coven/agents/shell.md\nissue: issues/a.md\n</dispatch>' }] },
    { match: { resume: true }, steps: [{ text: '<dispatch>\nsleep: nothing valid to do\n</dispatch>' }] },
  ]), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  const out = r.stdout + r.stderr;
  noStack(out);
  assert.is(r.code, 0, out);
  const calls = readFakeLog(env);
  assert.is(calls.length, 3, out);
  assert.match(calls[1]!.prompts.join('\n'), /\.\.\/shell/);
  assert.not.ok(calls.some((c) => c.prompts.some((p) => p.includes('Work on the issue'))), 'no agent ran');
});

test('a dispatch value that is a path out of the repository (issue: ../../../etc/passwd) is only text: the agent gets it, coven reads nothing there', async () => {
  const repo = await shellRepo();
  const { r, out, env } = await workerOnce(repo, [
    { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: shell\nissue: ../../../etc/passwd\n</dispatch>' }] },
    { match: { promptIncludes: 'Work on the issue in ../../../etc/passwd' }, steps: [{ text: 'Done.' }] },
  ]);
  assert.is(r.code, 0, out);
  assert.is(readFakeLog(env).length, 2, out);
  assert.not.match(out, /root:x:0:0/);
});

test.run();
