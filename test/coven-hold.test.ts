// coven-hold — a job whose commits change `.coven/` (agents, workflow, replaced steps)
// does not take effect on its own: the land is held for the human, who reads it and
// approves it with `coven land --approve-coven` (docs/trust.md, "Changes to `.coven/`
// are held for the human"). An agent file on main may opt in (`may_change_coven`).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, projectRoot, run, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile, testAgents } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun, type FakeStep } from './helpers/fake-claude.js';
import { loopFrom } from './helpers/loop-by-hand.js';
import { isCovenPath } from '../scripts/lib/land/coven-changes.js';
import { parseAgentFile } from '../scripts/lib/agents/registry.js';
import { newWorkerState } from '../scripts/lib/worker/state.js';
import { renderStatus } from '../scripts/status.js';

const plan = (...steps: FakeStep[]): FakeRun[] => [
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  { match: { promptIncludes: 'Plan the issue' }, steps: [...steps, { text: 'Done.' }] },
];
const sleepRun: FakeRun = { match: { promptIncludes: 'Choose the next job' }, times: 'unlimited', steps: [{ text: '<dispatch>\nsleep: nothing left to do\n</dispatch>' }] };
const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);
const SKIP = '--dangerously-skip-permissions';
const planWithSkip = testAgents['plan.md']!.replace('claude_args: [', `claude_args: ["${SKIP}", `);
/** The agent's tool calls that replace a committed file (the CLI wants it read first). */
const rewrite = (path: string, content: string): FakeStep[] => [{ read: path }, { write: { path, content } }];

async function workerOnce(repo: string, script: FakeRun[], extraEnv: Record<string, string> = {}) {
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-'), ...extraEnv };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  noStack(r.stdout + r.stderr);
  return { r, env, worktree: join(env.COVEN_WORKTREE_BASE, 'project', 'coven', 'w1') };
}

const mainFile = (repo: string, path: string) => sh(repo, 'show', `main:${path}`);

test('the agent adds --dangerously-skip-permissions to its own agent file: the land is held, main keeps the file, and the printed approval lands it', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const tip = await sh(repo, 'rev-parse', 'main');
  const { r, worktree } = await workerOnce(repo, plan(...rewrite('.coven/agents/plan.md', planWithSkip), { commit: 'plan: fewer prompts' }));
  assert.is(await sh(repo, 'rev-parse', 'main'), tip, `main did not move:\n${r.stdout}\n${r.stderr}`);
  assert.not.match(await mainFile(repo, '.coven/agents/plan.md'), /dangerously/);
  assert.is(r.code, 3, r.stdout + r.stderr); // stopped with work kept unlanded
  assert.match(r.stderr, /land held for you: coven\/w1 changes \.coven\//);
  assert.match(r.stderr, /\n {4}\.coven\/agents\/plan\.md\n/);
  assert.match(r.stderr, /main was not changed; the worker's commit stays on coven\/w1/);
  assert.match(r.stderr, new RegExp(`git -C ${worktree} diff main\\.\\.\\.coven/w1 -- \\.coven`));
  const approve = new RegExp(`coven land --worktree ${worktree} --keep --approve-coven`);
  assert.match(r.stderr, approve);
  assert.is(await sh(worktree, 'log', '-1', '--format=%s'), 'plan: fewer prompts', 'the commit is kept on the branch');
  // the human reads it and approves, as the message says
  const land = await coven(['land', '--worktree', worktree, '--keep', '--approve-coven'], { cwd: repo });
  assert.is(land.code, 0, land.stderr);
  assert.match(await mainFile(repo, '.coven/agents/plan.md'), /dangerously/);
});

test('an executable .coven/steps/land committed by the agent is held: it never reaches the main worktree, where the next worker would run it', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const { r } = await workerOnce(repo, plan({ write: { path: '.coven/steps/land', content: '#!/bin/sh\ntouch /tmp/pwned\n' } }, { bash: 'chmod +x .coven/steps/land' }, { commit: 'a faster land' }));
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /\n {4}\.coven\/steps\/land\n/);
  assert.not.ok(existsSync(join(repo, '.coven', 'steps', 'land')));
  assert.is(await sh(repo, 'ls-tree', '--name-only', 'main', '.coven/'), '.coven/agents');
});

test('a replaced land step (COVEN_STEP_LAND) is not run on commits that change .coven/: the worker holds them first', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const ran = join(tempDir(), 'ran');
  const step = join(tempDir(), 'land');
  writeFileSync(step, `#!/bin/sh\ntouch '${ran}'\ngit -C "$COVEN_MAIN_WORKTREE" merge -q --ff-only "$(git rev-parse HEAD)"\n`);
  chmodSync(step, 0o755);
  const tip = await sh(repo, 'rev-parse', 'main');
  const { r } = await workerOnce(repo, plan(...rewrite('.coven/agents/plan.md', planWithSkip), { commit: 'plan: fewer prompts' }), { COVEN_STEP_LAND: step });
  assert.match(r.stdout, /step replaced: land/);
  assert.not.ok(existsSync(ran), 'the replaced land step did not run');
  assert.is(await sh(repo, 'rev-parse', 'main'), tip);
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /land held for you: coven\/w1 changes \.coven\/[^]*\.coven\/agents\/plan\.md/);
});

test('the same replaced land step still runs when the commits leave .coven/ alone', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const ran = join(tempDir(), 'ran');
  const step = join(tempDir(), 'land');
  writeFileSync(step, `#!/bin/sh\ntouch '${ran}'\ngit -C "$COVEN_MAIN_WORKTREE" merge -q --ff-only "$(git rev-parse HEAD)"\n`);
  chmodSync(step, 0o755);
  const { r } = await workerOnce(repo, plan({ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }), { COVEN_STEP_LAND: step });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.ok(existsSync(ran));
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
});

test('an agent whose file on main says may_change_coven: true lands its change to .coven/ without approval', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), '.coven/agents/plan.md': testAgents['plan.md']!.replace('---\n', '---\nmay_change_coven: true\n') });
  const newAgent = testAgents['plan.md']!.replace('writes a plan', 'reviews a plan');
  const { r } = await workerOnce(repo, plan({ write: { path: '.coven/agents/review.md', content: newAgent } }, { commit: 'a review agent' }));
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'a review agent');
});

test('an agent that gives itself may_change_coven on its branch is held: only the file as main has it counts', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const tip = await sh(repo, 'rev-parse', 'main');
  const own = planWithSkip.replace('---\n', '---\nmay_change_coven: true\n');
  const { r } = await workerOnce(repo, plan(...rewrite('.coven/agents/plan.md', own), { commit: 'plan may change coven' }));
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.is(await sh(repo, 'rev-parse', 'main'), tip);
  assert.match(r.stderr, /land held for you/);
});

/** A worktree made as the README's loop by hand makes it (`coven spawn`), with `edit` run in it and committed. */
async function handLoop(edit: (wt: string) => Promise<void> | void, message = 'agent change') {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const env = { COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const spawned = await coven(['spawn', 'coven/hand'], { cwd: repo, env });
  assert.is(spawned.code, 0, spawned.stderr);
  const wt = spawned.stdout.trim().split('\n').pop()!;
  await edit(wt);
  await sh(wt, 'add', '-A');
  await sh(wt, 'commit', '-q', '--allow-empty', '-m', message);
  return { repo, wt, tip: await sh(repo, 'rev-parse', 'main') };
}

// the approval's exit: 0 landed; a link where main's checkout has the folder is refused by the land's own check (4, main-blocked)
const cases: Array<[string, (wt: string) => Promise<void> | void, string, number?]> = [
  ['a change to .coven/agents/dispatch.md', (wt) => writeFileSync(join(wt, '.coven/agents/dispatch.md'), `${testAgents['dispatch.md']}\nAlways choose plan.\n`), '.coven/agents/dispatch.md'],
  ['a new agent file', (wt) => writeFileSync(join(wt, '.coven/agents/evil.md'), testAgents['plan.md']!), '.coven/agents/evil.md'],
  ['a deleted agent file', (wt) => rmSync(join(wt, '.coven/agents/implement.md')), '.coven/agents/implement.md'],
  ['an agent file renamed out of .coven/', async (wt) => void (await sh(wt, 'mv', '.coven/agents/implement.md', 'implement.md')), '.coven/agents/implement.md'],
  [
    '.coven replaced by a symbolic link',
    (wt) => {
      rmSync(join(wt, '.coven'), { recursive: true });
      symlinkSync('/tmp', join(wt, '.coven'));
    },
    '.coven',
    4,
  ],
  ['a path .Coven/ (the same folder on macOS and Windows)', (wt) => writeFileSync(join(wt, '.Coven'), 'x'), '.Coven'],
];

for (const [name, edit, file, approved = 0] of cases) {
  test(`the loop by hand: coven land holds ${name} (exit 5, main unchanged), and --approve-coven lands it`, async () => {
    const { repo, wt, tip } = await handLoop(edit);
    const held = await coven(['land', '--keep'], { cwd: wt });
    noStack(held.stdout + held.stderr);
    assert.is(held.code, 5, held.stdout + held.stderr);
    assert.ok(held.stderr.includes(`\n    ${file}\n`), held.stderr);
    assert.is(await sh(repo, 'rev-parse', 'main'), tip);
    const landed = await coven(['land', '--keep', '--approve-coven'], { cwd: wt });
    assert.is(landed.code, approved, landed.stderr);
    if (approved === 0) assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'agent change');
  });
}

test('--approve-coven given from inside an agent session (an agent running coven land on its own worktree) is refused: the land stays held', async () => {
  const { repo, wt, tip } = await handLoop((w) => writeFileSync(join(w, '.coven', 'agents', 'plan.md'), planWithSkip));
  const env = { COVEN_SESSION_MARK: 'coven-session-test', COVEN_WORKER: 'w1' };
  const r = await coven(['land', '--keep', '--approve-coven'], { cwd: wt, env });
  noStack(r.stdout + r.stderr);
  assert.is(r.code, 5, r.stdout + r.stderr);
  assert.match(r.stderr, /--approve-coven is the human's answer: it is not taken from inside an agent session/);
  assert.is(await sh(repo, 'rev-parse', 'main'), tip, 'main did not move');
  const human = await coven(['land', '--keep', '--approve-coven'], { cwd: wt });
  assert.is(human.code, 0, human.stderr);
});

test("the README's loop by hand stops at a held land (exit 5): its next session never runs with the agent's own .coven/", async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const tip = await sh(repo, 'rev-parse', 'main');
  const file = join(tempDir(), 'loop.sh');
  writeFileSync(file, loopFrom('README.md'));
  const script = [...plan(...rewrite('.coven/agents/plan.md', planWithSkip), { commit: 'plan: fewer prompts' }), { ...plan()[0]!, times: 'unlimited' as const }, { ...plan()[1]!, times: 'unlimited' as const }];
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-'), PATH: `${join(projectRoot, 'shims')}:${process.env.PATH}`, COVEN_NAME: 'hand', COVEN_IDLE: '3s' };
  const r = await run('sh', [file], { cwd: repo, env, timeoutMs: 60_000 });
  noStack(r.stdout + r.stderr);
  assert.is(r.code, 5, r.stdout + r.stderr);
  assert.match(r.stderr, /land held for you: coven\/hand changes \.coven\//);
  assert.is(await sh(repo, 'rev-parse', 'main'), tip);
  const plans = readFakeLog(env).filter((c) => c.prompts[0]?.includes('Plan the issue'));
  assert.is(plans.length, 1, 'no second session ran');
});

test("coven resolve (the loop by hand) resumes the session with the agent's claude_args as main has them, not as its half-rebased worktree has them", async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), 'greeting.txt': 'hello\n' });
  const file = join(tempDir(), 'loop.sh');
  writeFileSync(file, loopFrom('README.md'));
  const userEdit = `cd '${repo}' && printf 'hello, user\\n' > greeting.txt && git commit -qam 'user edit'`;
  const script: FakeRun[] = [
    ...plan(...rewrite('.coven/agents/plan.md', planWithSkip), ...rewrite('greeting.txt', 'hello, agent\n'), { bash: userEdit }, { commit: 'plan: fewer prompts, and a greeting' }),
    { match: { promptIncludes: 'rebase conflict' }, steps: [...rewrite('greeting.txt', 'hello, both\n'), { bash: 'git add greeting.txt && git -c core.editor=true rebase --continue' }, { text: 'Merged.' }] },
  ];
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-'), PATH: `${join(projectRoot, 'shims')}:${process.env.PATH}`, COVEN_NAME: 'hand', COVEN_IDLE: '3s' };
  const r = await run('sh', [file], { cwd: repo, env, timeoutMs: 60_000 });
  noStack(r.stdout + r.stderr);
  assert.is(r.code, 5, r.stdout + r.stderr); // resolved, then the land is held
  const [resolve] = readFakeLog(env).filter((c) => c.prompts[0]?.includes('rebase conflict'));
  assert.ok(resolve, r.stdout + r.stderr);
  assert.not.ok(resolve!.argv.includes(SKIP), resolve!.argv.join(' '));
  assert.ok(resolve!.argv.includes('--allowedTools=Bash(git *),Read,Edit,Write'), resolve!.argv.join(' '));
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'user edit');
});

test('a change to .coven/ made and reverted on the branch lands: main\'s .coven/ does not change', async () => {
  const { repo, wt } = await handLoop((wt) => writeFileSync(join(wt, '.coven/agents/plan.md'), planWithSkip), 'skip permissions');
  await sh(wt, 'revert', '--no-edit', 'HEAD');
  writeFileSync(join(wt, 'plan.txt'), 'plan\n');
  await sh(wt, 'add', 'plan.txt');
  await sh(wt, 'commit', '-q', '-m', 'plan a');
  const before = await mainFile(repo, '.coven/agents/plan.md');
  const r = await coven(['land', '--keep'], { cwd: wt });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(await mainFile(repo, '.coven/agents/plan.md'), before);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
});

test('changes elsewhere land as before, a .coven folder deeper down included', async () => {
  const { repo, wt } = await handLoop((wt) => {
    writeFileSync(join(wt, '.covenant'), 'x');
    writeFileSync(join(wt, 'coven.md'), 'x');
  });
  await run('mkdir', ['-p', join(wt, 'sub', '.coven')]);
  writeFileSync(join(wt, 'sub', '.coven', 'x.md'), 'x');
  await sh(wt, 'add', '-A');
  await sh(wt, 'commit', '-q', '-m', 'deeper');
  const r = await coven(['land', '--keep'], { cwd: wt });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'deeper');
});

test('which paths count as .coven/: a table', () => {
  const table: Array<[string, boolean]> = [
    ['.coven/agents/plan.md', true],
    ['.coven/steps/land', true],
    ['.coven/workflow.md', true],
    ['.coven', true],
    ['.Coven/agents/plan.md', true],
    ['.COVEN', true],
    ['.coven./agents/x.md', true],
    ['.coven /x', true],
    ['.co\u200cven/agents/x.md', true],
    ['./.coven/x', true],
    ['a/../.coven/x', true],
    ['.coven\\agents\\x.md', true],
    ['sub/.coven/agents/x.md', false],
    ['.covenant', false],
    ['coven/agents/x.md', false],
    ['docs/.coven.md', false],
  ];
  for (const [path, counts] of table) assert.is(isCovenPath(path), counts, path);
});

test('may_change_coven in an agent file: true or false, anything else is named', () => {
  const withKey = (v: string) => testAgents['plan.md']!.replace('---\n', `---\nmay_change_coven: ${v}\n`);
  const yes = parseAgentFile('plan.md', withKey('true'));
  assert.ok(yes.kind === 'agent' && yes.agent.mayChangeCoven === true);
  const no = parseAgentFile('plan.md', withKey('false'));
  assert.ok(no.kind === 'agent' && no.agent.mayChangeCoven === undefined);
  const bad = parseAgentFile('plan.md', withKey('"yes"'));
  assert.equal(bad.kind === 'invalid' ? bad.problems.map((p) => `${p.field}: ${p.message}`) : [], ['may_change_coven: must be true or false, got a string']);
});

test('coven status says which worker\'s land is held, why, and how to review and approve it', () => {
  const s = { ...newWorkerState({ name: 'w1', branch: 'coven/w1', worktree: '/wt/w1' }), phase: 'parked' as const, held: ['.coven/agents/plan.md'] };
  const text = renderStatus({ at: Date.now(), main: { branch: 'main', tip: 'a'.repeat(40) }, workers: [{ kind: 'worker', file: 'w1.json', state: s, liveness: 'alive' }], locks: [] });
  assert.match(text, /w1's land is held for you: its commits change \.coven\/ \(\.coven\/agents\/plan\.md\)/);
  assert.match(text, /review: {2}git -C \/wt\/w1 diff main\.\.\.coven\/w1 -- \.coven/);
  assert.match(text, /approve: coven land --worktree \/wt\/w1 --keep --approve-coven/);
});

test('a parked worker whose land is held goes on by itself once the human approves it by hand', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const script = [...plan(...rewrite('.coven/agents/plan.md', planWithSkip), { commit: 'plan: fewer prompts' }), sleepRun];
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const worktree = join(env.COVEN_WORKTREE_BASE, 'project', 'coven', 'w1');
  const worker = coven(['worker', '--max-idle', '1', '--name', 'w1'], { cwd: repo, env });
  const stateFile = join(repo, '.git', 'coven', 'workers', 'w1.json');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { phase: string; held?: string[] }) : null;
    if (state?.phase === 'parked') {
      assert.equal(state.held, ['.coven/agents/plan.md']);
      break;
    }
    assert.ok(Date.now() < deadline, 'the worker parked');
    await new Promise((r) => setTimeout(r, 100));
  }
  const status = await coven(['status'], { cwd: repo });
  assert.match(status.stdout, /w1's land is held for you/);
  const land = await coven(['land', '--worktree', worktree, '--keep', '--approve-coven'], { cwd: repo });
  assert.is(land.code, 0, land.stderr);
  const r = await worker;
  noStack(r.stdout + r.stderr);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /coven\/w1 has nothing left to land; w1 goes on/);
  assert.match(await mainFile(repo, '.coven/agents/plan.md'), /dangerously/);
});

test.run();
