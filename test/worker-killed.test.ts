// suite: long
// worker-killed — what a worker killed with kill -9 leaves behind is found and taken
// over. Its agent session keeps running (the CLI runs in a process group of its own): a
// worker started under the same name adopts the worktree — even one left in the middle
// of a rebase — ends that session first, and lands what was committed, resolving
// conflicts with the dead worker's agent; `coven gc` ends such a session too before it
// judges the worktree. A worker killed while it creates its worktree has already written
// its state file, so `coven gc` cleans up that worktree and branch.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from '../scripts/lib/locks/process-identity.js';
import { newWorkerState, readWorkerState, writeWorkerState, type WorkerState } from '../scripts/lib/worker/state.js';
import { covenRepo, issueFile, writeFiles } from './helpers/coven-repo.js';
import { assertFakeRunsOk, fakeClaudeEnv, runFake, streamEvents, type FakeRun } from './helpers/fake-claude.js';
import { writeSessionRecord } from '../scripts/lib/steps/session-record.js';
import { commitFile, coven, covenBin, sh, tempDir } from './helpers/repo.js';

const choose = (...lines: string[]): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });
/** alive and not a zombie (an orphan's exit is reaped by init, which may take a while) */
const isRunning = (pid: number) => processStartTime(pid) !== null;
const implementArgs = '--allowedTools=Bash(git *),Read,Edit,Write'; // the test agents' claude_args

async function setUp(script: FakeRun[]) {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), 'shared.txt': 'start\n' });
  const env = { ...process.env, ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-'), COVEN_RETRY_MS: '200' };
  const stateDir = join(repo, '.git', 'coven');
  return { repo, env, stateDir, worktree: join(env.COVEN_WORKTREE_BASE, 'project', 'coven', 'w1') };
}

function startWorker(repo: string, env: NodeJS.ProcessEnv): { child: ChildProcess; exited: Promise<void> } {
  const child = spawn(process.execPath, [covenBin, 'worker', '--once', '--name', 'w1'], { cwd: repo, env, detached: true, stdio: 'ignore' });
  return { child, exited: new Promise((r) => child.on('exit', () => r())) };
}

/** Waits until w1's state file satisfies `ok`. */
async function stateWhen(stateDir: string, ok: (s: WorkerState) => boolean): Promise<WorkerState> {
  for (let i = 0; i < 1500; i++) {
    const e = await readWorkerState(stateDir, 'w1');
    if (e?.kind === 'worker' && ok(e.state)) return e.state;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the worker never got there');
}

test('killed mid-rebase while resolving: a worker of the same name ends the orphaned session, adopts the worktree and lands', async () => {
  const { repo, env, stateDir, worktree } = await setUp([
    choose('agent: implement', 'issue: issues/a.md'),
    { match: { promptIncludes: 'Implement the issue' }, steps: [{ read: 'shared.txt' }, { write: { path: 'shared.txt', content: 'start\nw1\n' } }, { commit: 'w1 work' }, { sleep_ms: 1500 }, { text: 'done' }] },
    // the first worker's resolution hangs until it is killed; the adopter's resolves
    { match: { promptIncludes: 'stopped on a rebase conflict' }, steps: [{ sleep_ms: 60_000 }, { text: 'never' }] },
    {
      match: { promptIncludes: 'stopped on a rebase conflict' },
      expect: { argvIncludes: [implementArgs] }, // the dead worker's agent's tools
      steps: [{ read: 'shared.txt' }, { write: { path: 'shared.txt', content: 'start\nmain\nw1\n' } }, { bash: 'git add shared.txt' }, { bash: 'git -c core.editor=true rebase --continue' }, { text: 'Resolved.' }],
    },
    choose('sleep: nothing left'),
  ]);
  const first = startWorker(repo, env);
  await stateWhen(stateDir, (s) => s.phase === 'running' && s.session_process !== null);
  await commitFile(repo, 'shared.txt', 'start\nmain\n', 'main moves'); // the agent's land will conflict
  const resolving = await stateWhen(stateDir, (s) => s.phase === 'resolving' && Boolean(s.session_process));
  const orphan = resolving.session_process!.pid;
  process.kill(first.child.pid!, 'SIGKILL');
  await first.exited;
  assert.ok(isRunning(orphan), 'the resolve session outlives its worker');
  assert.is(await sh(worktree, 'status', '--short', '--branch').then((s) => s.split('\n')[0]), '## HEAD (no branch)', 'left mid-rebase');

  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /adopting the existing worktree of w1/);
  assert.match(r.stdout, /ended the agent session the previous w1 left running/);
  assertFakeRunsOk(env, (c) => (c.runs[0] === 2 ? 143 : 0)); // run 2, the orphaned resolution, was ended (SIGTERM)
  assert.not.ok(isRunning(orphan));
  assert.is(readFileSync(join(repo, 'shared.txt'), 'utf8'), 'start\nmain\nw1\n');
  assert.equal((await sh(repo, 'log', '--format=%s', '-3', 'main')).split('\n'), ['w1 work', 'main moves', 'coven agents']);
  assert.not.ok(existsSync(worktree), 'everything landed: the worktree is removed');
});

test('coven gc ends the agent session a dead worker left running before it judges the worktree; its commit is kept', async () => {
  const { repo, env, stateDir, worktree } = await setUp([
    choose('agent: implement', 'issue: issues/a.md'),
    { match: { promptIncludes: 'Implement the issue' }, steps: [{ write: { path: 'one.txt', content: 'one\n' } }, { commit: 'first half' }, { sleep_ms: 60_000 }, { write: { path: 'two.txt', content: 'two\n' } }, { commit: 'second half' }] },
  ]);
  const worker = startWorker(repo, env);
  const running = await stateWhen(stateDir, (s) => s.phase === 'running' && Boolean(s.session_process));
  for (let i = 0; i < 500 && !(await sh(repo, 'log', '--format=%s', 'coven/w1')).includes('first half'); i++) await new Promise((r) => setTimeout(r, 20));
  process.kill(worker.child.pid!, 'SIGKILL');
  await worker.exited;
  const orphan = running.session_process!.pid;
  assert.ok(isRunning(orphan));

  const r = await coven(['gc'], { cwd: repo, env });
  assert.is(r.code, 3, r.stdout + r.stderr); // kept: it has a commit that is not on main
  assert.match(r.stdout, /w1: kept — 1 commit not on main/);
  assert.not.ok(isRunning(orphan));
  assert.equal((await sh(repo, 'log', '--format=%s', '-2', 'coven/w1')).split('\n'), ['first half', 'coven agents']);
  assert.not.ok(existsSync(join(worktree, 'two.txt')), 'the session made nothing more');
});

test('killed while its worktree is being made: the state file is already there, and coven gc removes worktree, branch and state', async () => {
  const ignored: Record<string, string> = { '.gitignore': 'deps/\n' };
  const { repo, env, stateDir, worktree } = await setUp([]);
  writeFiles(repo, ignored);
  await sh(repo, 'add', '.gitignore');
  await sh(repo, 'commit', '-q', '-m', 'ignore deps');
  for (let i = 0; i < 3000; i++) writeFiles(repo, { [`deps/p${i % 30}/f${i}.js`]: `module.exports = ${i};\n` }); // spawn copies these: it takes a while
  const worker = startWorker(repo, env);
  while (!existsSync(worktree)) await new Promise((r) => setTimeout(r, 2));
  const state = await readWorkerState(stateDir, 'w1');
  process.kill(worker.child.pid!, 'SIGKILL');
  await worker.exited;
  assert.is(state?.kind === 'worker' ? state.state.phase : state?.kind, 'starting', 'the state file came before the worktree');

  const r = await coven(['gc'], { cwd: repo, env });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.not.ok(existsSync(worktree));
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
  assert.is(await readWorkerState(stateDir, 'w1'), null);
});

test('a worker of the same name remakes the worktree a worker killed during git worktree add left half made', async () => {
  const { repo, env, stateDir, worktree } = await setUp([choose('sleep: nothing to do')]);
  // as git leaves it when killed while making the worktree: locked "initializing", no HEAD yet
  await sh(repo, 'worktree', 'add', '-q', '--no-checkout', '--track', '-b', 'coven/w1', worktree, 'main');
  const gitDir = await sh(worktree, 'rev-parse', '--absolute-git-dir');
  writeFileSync(join(gitDir, 'HEAD'), `${'0'.repeat(40)}\n`);
  writeFileSync(join(gitDir, 'HEAD.lock'), '');
  await sh(repo, 'worktree', 'lock', '--reason', 'initializing', worktree);
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => dead.on('exit', r));
  await writeWorkerState(stateDir, { ...newWorkerState({ name: 'w1', branch: 'coven/w1', worktree }), pid: dead.pid! });

  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /left half made; making it again/);
  assert.is(await sh(repo, 'for-each-ref', 'refs/coven/'), '', 'nothing was mistaken for work');
  assert.not.ok(existsSync(worktree), 'removed at the end, like any worktree with nothing to land');
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
});

test('a git lock left in the worktree by a git command killed with its worker is cleared by the worker that adopts it', async () => {
  const { repo, env, stateDir, worktree } = await setUp([choose('sleep: nothing to do')]);
  await sh(repo, 'worktree', 'add', '-q', '--track', '-b', 'coven/w1', worktree, 'main');
  await commitFile(worktree, 'w1.txt', 'w1\n', 'w1 work');
  await commitFile(repo, 'main.txt', 'main\n', 'main moves'); // landing needs a rebase, which needs the index
  writeFileSync(join(await sh(worktree, 'rev-parse', '--absolute-git-dir'), 'index.lock'), '');
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => dead.on('exit', r));
  await writeWorkerState(stateDir, { ...newWorkerState({ name: 'w1', branch: 'coven/w1', worktree }), pid: dead.pid! });

  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /removed .*index\.lock, left by a git command killed with the previous w1/);
  assert.equal((await sh(repo, 'log', '--format=%s', '-3', 'main')).split('\n'), ['w1 work', 'main moves', 'coven agents']);
});

test('a worker that takes over reads the session record the dead one left: the conflict is resolved by resuming that session with its agent\'s claude_args, though the state file names no agent', async () => {
  const { repo, env, stateDir, worktree } = await setUp([
    { match: { promptIncludes: 'Implement the issue' }, steps: [{ read: 'shared.txt' }, { write: { path: 'shared.txt', content: 'start\nw1\n' } }, { commit: 'w1 work' }, { text: 'done' }] },
    {
      match: { promptIncludes: 'stopped on a rebase conflict' },
      expect: { resume: true, argvIncludes: [implementArgs] }, // the recorded session, with the recorded agent's tools
      steps: [{ read: 'shared.txt' }, { write: { path: 'shared.txt', content: 'start\nmain\nw1\n' } }, { bash: 'git add shared.txt' }, { bash: 'git -c core.editor=true rebase --continue' }, { text: 'Resolved.' }],
    },
    choose('sleep: nothing left'),
  ]);
  // the dead worker's job: its session made a commit in its worktree (the fake, run by hand)
  await sh(repo, 'worktree', 'add', '-q', '--track', '-b', 'coven/w1', worktree, 'main');
  const job = await runFake(['-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits', implementArgs, 'Implement the issue in issues/a.md'], { cwd: worktree, env });
  assert.is(job.code, 0, job.stdout + job.stderr);
  assert.is(await sh(worktree, 'log', '-1', '--format=%s'), 'w1 work');
  const sessionId = String(streamEvents(job.stdout).find((e) => e.type === 'system')?.session_id);
  await commitFile(repo, 'shared.txt', 'start\nmain\n', 'main moves'); // its land will conflict
  // killed after the job, at the next dispatch (which clears the agent from the state file)
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => dead.on('exit', r));
  await writeWorkerState(stateDir, { ...newWorkerState({ name: 'w1', branch: 'coven/w1', worktree }), pid: dead.pid!, phase: 'dispatching', agent: null, session_id: sessionId });
  const at = new Date().toISOString();
  await writeSessionRecord(join(stateDir, 'steps', 'w1', 'session.json'), {
    coven: 'session/1', cli: 'claude', agent: 'implement', args: { issue: 'issues/a.md' }, cli_args: [implementArgs], session_id: sessionId,
    cwd: worktree, branch: 'coven/w1', worker: 'w1', outcome: 'success', detail: '', cost_usd: 0, kept: [], started_at: at, ended_at: at,
  });

  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /adopting the existing worktree of w1/);
  const calls = assertFakeRunsOk(env);
  assert.is(calls[1]!.argv[calls[1]!.argv.indexOf('--resume') + 1], sessionId, 'the dead worker\'s session is resumed');
  assert.equal((await sh(repo, 'log', '--format=%s', '-3', 'main')).split('\n'), ['w1 work', 'main moves', 'coven agents']);
});

test.run();
