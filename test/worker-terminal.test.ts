// worker-terminal — a real `coven worker --once` on a pseudo-terminal, with the fake
// claude: header lines and the title at every phase change, a typed line reaching the
// running agent as a user message, and the Ctrl-C menu (message and resume, skip).
// Skipped, with the reason, where no pty can be made (see helpers/pty.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { covenBin, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun, type FakeStep } from './helpers/fake-claude.js';
import { ptyUnavailable, startPty, type Pty } from './helpers/pty.js';

if (ptyUnavailable) process.stdout.write(`skipped: worker-terminal: ${ptyUnavailable}\n`);
const ptyTest = ptyUnavailable ? test.skip : test;

const choosePlan: FakeRun = { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] };
const plan = (steps: FakeStep[]): FakeRun => ({ match: { promptIncludes: 'Plan the issue in issues/a.md' }, steps });
const commitPlan: FakeStep[] = [{ write: { path: 'plan.txt', content: 'the plan\n' } }, { commit: 'plan a' }];

const open: Pty[] = [];
test.after.each(() => {
  for (const p of open.splice(0)) p.close(); // a failed test leaves no worker behind
});

async function worker(script: FakeRun[], files: Record<string, string> = {}) {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), ...files });
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const pty = startPty(process.execPath, [covenBin, 'worker', '--once', '--name', 'w1'], { cwd: repo, env });
  open.push(pty);
  return { repo, env, pty };
}

/** The agent's invocation (the second one: the first is dispatch). */
function agentCall(env: ReturnType<typeof fakeClaudeEnv>) {
  const call = readFakeLog(env).find((c) => c.prompts[0]?.startsWith('Plan the issue'));
  assert.ok(call, 'the agent ran');
  return call;
}

ptyTest('a header line and the title at every phase change; a typed line reaches the running agent as a user message', async () => {
  const { repo, env, pty } = await worker([choosePlan, plan([{ text: 'working on it' }, { wait_for_message: 60_000 }, { bash: 'git status --short' }, ...commitPlan, { text: 'Planned.' }])]);
  await pty.waitFor(/working on it/);
  pty.type('STEER: use tabs\r');
  assert.is(await pty.exit, 0, pty.output());
  const out = pty.output();
  for (const phase of ['starting', 'dispatching', 'running plan \\(issue: issues/a\\.md\\)', 'landing plan \\(issue: issues/a\\.md\\)', 'stopping']) {
    assert.match(out, new RegExp(`── w1 · ${phase} · \\d+(ms|s|m\\d+s) · \\$\\d+\\.\\d{4}( · \\d+ landed)? ──`), phase);
  }
  assert.match(out, /\x1b\]0;coven w1: running plan · \$\d+\.\d{4}\x07/, 'the terminal title');
  assert.match(out, /coven: sent to plan: STEER: use tabs/);
  const call = agentCall(env);
  assert.is(call.messages.length, 2, 'the prompt and the typed line');
  assert.equal(call.messages[1], { ...call.messages[1]!, text: 'STEER: use tabs', takenBy: { turn: 1, how: 'injected' } });
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
});

ptyTest('Ctrl-C pauses the agent and offers a menu; m sends a message and resumes; the work lands', async () => {
  const { repo, env, pty } = await worker([choosePlan, plan([{ text: 'working on it' }, { wait_for_message: 60_000 }, { bash: 'git status --short' }, ...commitPlan, { text: 'Planned.' }])]);
  await pty.waitFor(/working on it/);
  pty.type('\x03');
  await pty.waitFor(/paused plan \(issue: issues\/a\.md\)[^]*m +send plan/);
  pty.type('m\r');
  await pty.waitFor(/your message for plan/);
  pty.type('STEER: from the menu\r');
  assert.is(await pty.exit, 0, pty.output());
  assert.match(pty.output(), /coven: sent to plan: STEER: from the menu/);
  assert.equal(agentCall(env).messages[1]?.text, 'STEER: from the menu');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
});

ptyTest('Ctrl-C, then s: the session ends, the commit it made lands, the worker goes on', async () => {
  const { repo, env, pty } = await worker([choosePlan, plan([...commitPlan, { text: 'committed, now waiting' }, { wait_for_message: 60_000 }, { text: 'never' }])]);
  await pty.waitFor(/committed, now waiting/);
  pty.type('\x03');
  await pty.waitFor(/s +skip this job/);
  pty.type('s\r');
  assert.is(await pty.exit, 0, pty.output());
  assert.match(pty.output(), /coven: skipping this job/);
  assert.is(agentCall(env).exitCode, 143, 'the session was ended with SIGTERM');
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
});

ptyTest('Ctrl-C at the menu stops the worker at once (130); the paused agent does not outlive it', async () => {
  const pidFile = join(tempDir(), 'agent-pid');
  // this plan agent may run any command (to note its pid)
  const planAnyBash = `---\ndescription: plans\nargs:\n  - name: issue\n    description: the issue\nclaude_args: ["--allowedTools=Bash"]\n---\nPlan the issue in {{issue}}.\n`;
  const { pty } = await worker([choosePlan, plan([{ bash: `echo $PPID > ${pidFile}` }, { text: 'working on it' }, { wait_for_message: 60_000 }, { text: 'never' }])], { '.coven/agents/plan.md': planAnyBash });
  await pty.waitFor(/working on it/);
  const agentPid = Number(readFileSync(pidFile, 'utf8').trim());
  pty.type('\x03');
  await pty.waitFor(/Ctrl-C +stop the worker at once/);
  pty.type('\x03');
  assert.is(await pty.exit, 130, pty.output());
  assert.match(pty.output(), /coven: stopping now/);
  for (const deadline = Date.now() + 10_000; alive(agentPid) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  assert.is(alive(agentPid), false, 'the agent process is gone');
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return existsSync(`/proc/${pid}`);
  }
}

test.run();
