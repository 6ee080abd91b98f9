// worker-terminal — a real `coven worker --once` on a pseudo-terminal, with the fake
// claude: header lines and the title at every phase change, a typed line reaching the
// running agent as a user message, and the Ctrl-C menu (message and resume, skip, and
// skip during a conflict resolution).
// Skipped, with the reason, where no pty can be made (see helpers/pty.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rebaseInProgress } from '../scripts/lib/git/operation.js';
import { coven, covenBin, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { B_SUBJECT, mainHasOnlyA, resolvingRun, sameLineRepo, sameLineRuns, sleepRun, waitFor } from './helpers/same-line.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun, type FakeStep } from './helpers/fake-claude.js';
import { ptyUnavailable, startPty, type Pty } from './helpers/pty.js';
import { alive } from './helpers/alive.js';

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

ptyTest('Ctrl-C, then s, during a conflict resolution: the rebase is undone, the branch kept, and the land is tried again only once main moves', async () => {
  const pausing: FakeRun = { match: { promptIncludes: 'rebase conflict' }, steps: [{ text: 'resolving now' }, { wait_for_message: 60_000 }, { text: 'never' }] };
  const s = await sameLineRepo([...sameLineRuns(), pausing, resolvingRun, sleepRun]);
  // a retry wait far longer than the test: only main moving can bring the next try
  const env = { ...s.env, COVEN_RETRY_MS: '120000' };
  const w1 = coven(['worker', '--name', 'w1', '--once'], { cwd: s.repo, env, timeoutMs: 150_000 });
  const pty = startPty(process.execPath, [covenBin, 'worker', '--name', 'w2', '--max-idle', '1'], { cwd: s.repo, env });
  open.push(pty);
  await pty.waitFor(/resolving now/);
  pty.type('\x03');
  await pty.waitFor(/s +skip: end this conflict resolution; the rebase is undone, the commits stay on the branch, the land is tried again once main moves or after a wait/);
  const from = pty.output().length;
  pty.type('s\r');
  await pty.waitFor(/conflict resolution skipped: the rebase is undone and coven\/w2 keeps its 1 commit\(s\); w2 tries the land again once main moves, or in 2m00s/, from);
  assert.is((await w1).code, 0);
  const tip = await sh(s.repo, 'rev-parse', 'main');
  const stateFile = join(s.repo, '.git', 'coven', 'workers', 'w2.json');
  const state = () => (existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { phase: string; waiting_on: string | null }) : null);
  await waitFor('w2 to wait for main to move before landing again', () => (state()?.waiting_on === tip ? true : null), 30_000, () => `state: ${JSON.stringify(state())}\n${pty.output()}`);
  assert.is(state()?.phase, 'landing');

  const wt = s.worktree('w2');
  const resolutions = () => readFakeLog(env).filter((c) => c.prompts[0]?.includes('rebase conflict'));
  assert.not.ok(rebaseInProgress(wt), 'the rebase is undone');
  assert.is(await sh(wt, 'log', '-1', '--format=%s', 'coven/w2'), B_SUBJECT, 'the branch keeps its commit');
  await mainHasOnlyA(s);
  assert.equal(resolutions().map((c) => c.exitCode), [143], 'the skipped session, ended by SIGTERM');

  await sh(s.repo, 'commit', '-q', '--allow-empty', '-m', 'unrelated'); // main moves: the land is tried again
  assert.is(await pty.exit, 0, pty.output());
  const [, again] = resolutions();
  assert.ok(again, 'a second resolution ran');
  assert.match(again.prompts[0]!, /- [0-9a-f]+ unrelated\n/, 'it started after main moved');
  assert.match(pty.output().slice(from), /conflict resolved in 1 round/);
  assert.is(await sh(s.repo, 'log', '-1', '--format=%s', 'main'), B_SUBJECT);
});


test.run();
