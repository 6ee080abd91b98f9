// Hostile input: agent sessions that misbehave — 50 MB of output (the worker's memory
// stays flat, the log keeps all of it) and a session that never ends (the wall-clock
// timeout ends it and everything it started; the worker lands what was committed and
// goes on).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempDir } from './helpers/repo.js';
import { alive } from './helpers/alive.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, type FakeRun, type FakeStep } from './helpers/fake-claude.js';
import { startCoven, until } from './helpers/worker-process.js';

const planJob = (run: Partial<FakeRun>, ...steps: FakeStep[]): FakeRun[] => [
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  { match: { promptIncludes: 'Plan the issue' }, ...run, steps: [...steps, { text: 'Done.' }] },
];
const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);

/** Runs one worker --once and returns its peak resident memory (VmHWM, in kB) as /proc shows it. */
async function peakMemoryOfWorker(repo: string, script: FakeRun[]): Promise<{ peakKb: number; out: string; code: number }> {
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const worker = startCoven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  let peakKb = 0;
  let running = true;
  void worker.exited.then(() => (running = false));
  while (running) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${worker.pid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      // the process just ended
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const r = await worker.exited;
  return { peakKb, out: worker.output(), code: r.code };
}

test('50 MB of agent output: the worker\'s memory does not grow with it, and the session log holds all of it', async () => {
  if (!existsSync('/proc/self/status')) return console.log('skipped: no /proc to read memory from');
  const noisy = (events: number) => planJob({}, { noise: { events, bytes: 100_000 } }, { write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' });
  const small = await peakMemoryOfWorker(await covenRepo({ 'issues/a.md': issueFile('Fix a') }), noisy(10)); // 1 MB
  assert.is(small.code, 0, small.out);
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const big = await peakMemoryOfWorker(repo, noisy(500)); // 50 MB
  assert.is(big.code, 0, big.out);
  noStack(big.out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  // holding the output would add at least 50 MB; streaming it adds about 10 MB of garbage-collector slack
  assert.ok(big.peakKb - small.peakKb < 35_000, `peak ${big.peakKb} kB with 50 MB of output vs ${small.peakKb} kB with 1 MB`);
  const logs = join(repo, '.git', 'coven', 'logs', 'w1');
  const planLog = join(logs, readdirSync(logs).find((f) => f.endsWith('-plan.jsonl'))!);
  assert.ok(statSync(planLog).size > 50_000_000, `the log has ${statSync(planLog).size} bytes`);
  const tail = readFileSync(planLog, 'utf8').trimEnd().split('\n').slice(-1)[0]!;
  assert.is((JSON.parse(tail) as { type: string }).type, 'result', 'the log goes on to the end of the session');
});

test('a session that never ends: the timeout stops it and what it started; the worker lands what was committed and goes on', async () => {
  const pids = tempDir('coven-pids-');
  const hangingPlan = `---
description: writes a plan for one issue
args:
  - name: issue
    description: path of the issue file
claude_args: ["--allowedTools=Bash,Read,Edit,Write", "--add-dir", "${pids}"]
---
Plan the issue in {{issue}}.
`;
  const repo = await covenRepo({ '.coven/agents/plan.md': hangingPlan, 'issues/a.md': issueFile('Fix a') });
  const env = {
    ...fakeClaudeEnv([
      ...planJob(
        { hang: 'before-result' },
        { write: { path: 'plan.txt', content: 'plan\n' } },
        { commit: 'plan a' },
        { bash: `sleep 300 > /dev/null 2>&1 & echo $! > ${pids}/sleep.pid` },
      ),
      { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nsleep: nothing left\n</dispatch>' }] },
    ]),
    COVEN_WORKTREE_BASE: tempDir('coven-wt-'),
  };
  // --timeout is in minutes: 0.05 is 3 s
  const r = await coven(['worker', '--name', 'w1', '--max-idle', '1', '--timeout', '0.05'], { cwd: repo, env });
  const out = r.stdout + r.stderr;
  assert.is(r.code, 0, out);
  noStack(out);
  assert.match(out, /the session ran past its 3s limit; stopping it/);
  assert.match(out, /timed out after 3s/);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.match(out, /w1 sleeps: nothing left/, 'the worker went on to the next dispatch');
  const sleeper = Number(readFileSync(join(pids, 'sleep.pid'), 'utf8'));
  await until(() => !alive(sleeper), 'the sleep the agent started to end');
});

test.run();
