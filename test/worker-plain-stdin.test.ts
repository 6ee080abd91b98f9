// worker-plain-stdin — a real `coven worker --once` whose stdin and stdout are pipes (as
// under CI, nohup or a supervisor): a piped line still reaches the running agent,
// SIGINT is a plain stop request (no menu, no prompt), and no escape is written.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { covenBin, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun, type FakeStep } from './helpers/fake-claude.js';

const choosePlan: FakeRun = { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] };
const plan = (steps: FakeStep[]): FakeRun => ({ match: { promptIncludes: 'Plan the issue in issues/a.md' }, steps });
const commitPlan: FakeStep[] = [{ write: { path: 'plan.txt', content: 'the plan\n' } }, { commit: 'plan a' }];

async function worker(script: FakeRun[]) {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const child = spawn(process.execPath, [covenBin, 'worker', '--once', '--name', 'w1'], { cwd: repo, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const seen: (() => void)[] = [];
  const grow = (d: Buffer) => {
    out += d.toString();
    for (const f of seen) f();
  };
  child.stdout.on('data', grow);
  child.stderr.on('data', grow);
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const waitFor = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${re}; got:\n${out}`)), 30_000);
      const look = () => re.test(out) && (clearTimeout(t), resolve());
      seen.push(look);
      look();
    });
  return { repo, env, child, exit, waitFor, output: () => out };
}

test('a line on a piped stdin reaches the running agent; the output has no escapes', async () => {
  const w = await worker([choosePlan, plan([{ text: 'working on it' }, { wait_for_message: 60_000 }, { bash: 'git status --short' }, ...commitPlan, { text: 'Planned.' }])]);
  await w.waitFor(/working on it/);
  w.child.stdin.write('STEER: from a pipe\n');
  assert.is(await w.exit, 0, w.output());
  assert.match(w.output(), /── w1 · running plan \(issue: issues\/a\.md\)/);
  assert.match(w.output(), /coven: sent to plan: STEER: from a pipe/);
  assert.not.match(w.output(), /\x1b/, 'no escapes');
  const call = readFakeLog(w.env).find((c) => c.prompts[0]?.startsWith('Plan the issue'));
  assert.is(call?.messages[1]?.text, 'STEER: from a pipe');
  assert.is(await sh(w.repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
});

test('SIGINT with a piped stdin stops the worker as before: no menu, the commits are kept on the branch', async () => {
  const w = await worker([choosePlan, plan([...commitPlan, { text: 'committed, now waiting' }, { wait_for_message: 60_000 }, { text: 'never' }])]);
  await w.waitFor(/committed, now waiting/);
  w.child.kill('SIGINT');
  assert.is(await w.exit, 3, w.output());
  assert.match(w.output(), /stopping once the current step is safe/);
  assert.not.match(w.output(), /paused/);
  assert.is(await sh(w.repo, 'log', '-1', '--format=%s', 'coven/w1'), 'plan a');
  assert.is(await sh(w.repo, 'log', '-1', '--format=%s', 'main'), 'coven agents');
});

test.run();
