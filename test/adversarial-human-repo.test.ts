// Adversarial pass (issue 11), a careless human and the repository under sleeping
// workers: the main branch renamed, coven's state folder deleted, `coven init` run from a
// subfolder. The worker says what happened and never loops, crashes or loses work.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { coven, commitFile, sh, tempDir, tempRepo } from './helpers/repo.js';
import { covenRepo } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { startCoven, until } from './helpers/worker-process.js';

const choose = (...lines: string[]): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });
const sleepForever: FakeRun = { ...choose('sleep: nothing to do'), times: 'unlimited' };
const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);
const asleep = (repo: string, name: string) => () => {
  const file = join(repo, '.git', 'coven', 'workers', `${name}.json`);
  return existsSync(file) && readFileSync(file, 'utf8').includes('"phase": "sleeping"');
};

test('the main branch renamed while the worker sleeps (git branch -m main trunk): it stops and says so, no dispatch loop', async () => {
  const repo = await covenRepo();
  const base = tempDir('coven-wt-');
  const env = { ...fakeClaudeEnv([sleepForever]), COVEN_WORKTREE_BASE: base };
  const worker = startCoven(['worker', '--name', 'w1'], { cwd: repo, env });
  await until(asleep(repo, 'w1'), 'w1 asleep');
  await sh(repo, 'branch', '-m', 'main', 'trunk');
  await commitFile(repo, 'notes.txt', 'the user commits on trunk\n');

  const ended = await Promise.race([worker.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
  if (ended === null) process.kill(worker.pid, 'SIGKILL');
  const out = worker.output();
  const dispatches = readFakeLog(env).length;
  assert.ok(ended !== null, `the worker kept going for 15 s (${dispatches} dispatch sessions):\n${out.slice(-1500)}`);
  assert.ok(dispatches <= 2, `${dispatches} dispatch sessions`);
  assert.is(ended.code, 3, out);
  assert.match(out, /the main branch main no longer exists \(renamed or deleted while w1 ran\?\)/);
  assert.match(out, /coven worker --name w1/);
  assert.not.match(out, /could not read/);
  noStack(out);
  // nothing lost: trunk has the user's commit, the worker's branch is kept
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'trunk'), 'edit notes.txt');
  assert.ok(existsSync(join(base, 'project', 'coven', 'w1')));

  // started again, it works on the branch now checked out (trunk), and cleans up
  const again = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(again.code, 0, again.stdout + again.stderr);
  noStack(again.stdout + again.stderr);
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
});

test("coven's state folder (.git/coven) deleted while the worker sleeps: it wakes, goes on and cleans up as usual", async () => {
  const repo = await covenRepo();
  const base = tempDir('coven-wt-');
  const env = { ...fakeClaudeEnv([sleepForever]), COVEN_WORKTREE_BASE: base };
  const worker = startCoven(['worker', '--name', 'w1', '--max-idle', '2'], { cwd: repo, env });
  await until(asleep(repo, 'w1'), 'w1 asleep');
  // as rm -rf does, but in one step: the worker may be writing in it meanwhile
  const gone = join(tempDir('coven-gone-'), 'coven');
  renameSync(join(repo, '.git', 'coven'), gone);
  rmSync(gone, { recursive: true, force: true });
  await commitFile(repo, 'notes.txt', 'the user commits\n');
  const r = await worker.exited;
  const out = worker.output();
  assert.is(r.code, 0, out);
  assert.match(out, /main moved \(now .*\); w1 wakes up/);
  assert.match(out, /w1 stopped; everything it made is on main/);
  noStack(out);
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
  assert.not.ok(existsSync(join(repo, '.git', 'coven', 'workers', 'w1.json')));
});

test('coven init run from a subfolder sets up the repository root, and a second run writes nothing', async () => {
  const repo = await tempRepo();
  mkdirSync(join(repo, 'src', 'deep'), { recursive: true });
  const first = await coven(['init', '--no-hooks'], { cwd: join(repo, 'src', 'deep') });
  assert.is(first.code, 0, first.stdout + first.stderr);
  assert.ok(existsSync(join(repo, '.coven', 'agents', 'dispatch.md')));
  assert.not.ok(existsSync(join(repo, 'src', 'deep', '.coven')), 'nothing written in the subfolder');
  const second = await coven(['init', '--no-hooks'], { cwd: join(repo, 'src') });
  assert.is(second.code, 0, second.stdout + second.stderr);
  assert.match(second.stdout, /no file was written/);
  assert.not.match(second.stdout, /\bwrote\b/);
  noStack(first.stdout + first.stderr + second.stdout + second.stderr);
});

test.run();
