// Adversarial pass (issue 11), a careless human in the main worktree while workers
// land: a staged and an unstaged change to the file a land changes, an index.lock held
// by an editor, `coven hooks uninstall` under a sleeping worker, and a worker started
// with HOME unset, TERM=dumb, a C locale, a tiny width and stdin closed.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, commitFile, covenBin, run, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { startCoven, until } from './helpers/worker-process.js';

const choose = (...lines: string[]): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });
const sleepForever: FakeRun = { ...choose('sleep: nothing to do'), times: 'unlimited' };
const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);
/** the plan agent changes README.md and commits */
const planChangesReadme = (): FakeRun[] => [
  choose('agent: plan', 'issue: issues/a.md'),
  { match: { promptIncludes: 'Plan the issue' }, steps: [{ bash: "printf 'the agent version\\n' > README.md" }, { commit: 'plan a' }, { text: 'Planned.' }] },
  sleepForever,
];

test('a staged and an unstaged change to the file a land changes: the land refuses, and the index and the file stay exactly', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const mainBefore = await sh(repo, 'rev-parse', 'main');
  writeFileSync(join(repo, 'README.md'), 'staged by the human\n');
  await sh(repo, 'add', 'README.md');
  writeFileSync(join(repo, 'README.md'), 'staged by the human\nthen edited, not staged\n');
  const stagedBlob = await sh(repo, 'rev-parse', ':README.md');
  const env = { ...fakeClaudeEnv(planChangesReadme()), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  const out = r.stdout + r.stderr;
  assert.is(r.code, 3, out);
  assert.match(out, /has uncommitted, untracked or ignored files that this land would overwrite:\s+README\.md/);
  assert.match(out, /1 commit\(s\) not on main/);
  noStack(out);
  assert.is(await sh(repo, 'rev-parse', 'main'), mainBefore);
  assert.is(await sh(repo, 'rev-parse', ':README.md'), stagedBlob, 'the staged change is kept in the index');
  assert.is(readFileSync(join(repo, 'README.md'), 'utf8'), 'staged by the human\nthen edited, not staged\n');
  assert.is(await sh(repo, 'status', '--porcelain'), 'MM README.md');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'coven/w1'), 'plan a', "the agent's commit is kept on its branch");
});

test("an index.lock held by the human's editor when the worker lands: left alone, named; the land goes through once it is gone", async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const lock = join(repo, '.git', 'index.lock');
  writeFileSync(lock, 'held by an editor\n');
  const env = { ...fakeClaudeEnv(planChangesReadme()), COVEN_WORKTREE_BASE: tempDir('coven-wt-'), COVEN_RETRY_MS: '500' };
  const worker = startCoven(['worker', '--name', 'w1', '--max-idle', '1'], { cwd: repo, env });
  await worker.waitFor(/another git command holds .*index\.lock/);
  assert.is(readFileSync(lock, 'utf8'), 'held by an editor\n', "coven does not take or remove the human's lock");
  rmSync(lock);
  const r = await worker.exited;
  const out = worker.output();
  assert.is(r.code, 0, out);
  assert.match(out, /landed 1 commit\(s\) on main/);
  noStack(out);
  assert.is(readFileSync(join(repo, 'README.md'), 'utf8'), 'the agent version\n');
});

test('coven hooks uninstall while a worker sleeps: a commit on main still wakes it (the ref watch)', async () => {
  const repo = await covenRepo();
  const installed = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(installed.code, 0, installed.stdout + installed.stderr);
  const env = { ...fakeClaudeEnv([sleepForever]), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const worker = startCoven(['worker', '--name', 'w1', '--max-idle', '2'], { cwd: repo, env });
  const state = join(repo, '.git', 'coven', 'workers', 'w1.json');
  await until(() => existsSync(state) && readFileSync(state, 'utf8').includes('"phase": "sleeping"'), 'w1 asleep');
  const removed = await coven(['hooks', 'uninstall'], { cwd: repo });
  assert.is(removed.code, 0, removed.stdout + removed.stderr);
  assert.not.ok(existsSync(join(repo, '.git', 'hooks', 'post-commit')));
  await commitFile(repo, 'notes.txt', 'the user commits\n');
  const r = await worker.exited;
  assert.is(r.code, 0, worker.output());
  assert.match(worker.output(), /main moved \(now .*\); w1 wakes up/);
  noStack(worker.output());
});

test('a worker started with HOME unset, TERM=dumb, a C locale, COLUMNS=10 and stdin closed: plain lines, it works', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const env: NodeJS.ProcessEnv = { ...process.env, ...fakeClaudeEnv(planChangesReadme()), COVEN_WORKTREE_BASE: tempDir('coven-wt-'), TERM: 'dumb', LANG: 'C', LC_ALL: 'C', COLUMNS: '10' };
  delete env.HOME;
  const r = await run('sh', ['-c', `exec "$0" "$@" <&-`, process.execPath, covenBin, 'worker', '--once', '--name', 'w1'], { cwd: repo, env });
  const out = r.stdout + r.stderr;
  assert.is(r.code, 0, out);
  assert.match(out, /landed 1 commit\(s\) on main/);
  assert.not.match(out, /\u001b/, 'no terminal escapes');
  noStack(out);
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
});

test.run();
