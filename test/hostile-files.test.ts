// Hostile files: the files coven reads are untrusted input (an agent can commit an agent
// or issue file; anything can sit in the state folder). Each is read only if it is a
// regular file, with a size cap, and a bad one is named, never a hang or a crash. And
// large values never travel as one command-line argument over the OS limit (spawn
// E2BIG): the catalog goes on stdin when it is big, and what cannot move is a typed
// outcome that names it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, covenBin, sh, tempDir, tempRepo, type Run } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { assertFakeRunsOk, fakeClaudeEnv, readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { runSession, type SessionOutcome } from '../scripts/lib/session/runner.js';
import { MAX_ARG_BYTES } from '../scripts/lib/session/cli-invocation.js';
import { readWorkerStates } from '../scripts/lib/worker/state.js';
import { recordedMainBranch } from '../scripts/lib/worker/wake.js';
import { observe } from '../scripts/lib/locks/lock-file.js';
import { parseAgentFile, formatFileProblem } from '../scripts/lib/agents/registry.js';

const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);
const choose = (...lines: string[]): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });
/** a command that would hang on a FIFO or /dev/stdin is stopped after this and fails the test */
const hangLimit = 20_000;
const bigDescription = `Looks helpful. ${'a very long description '.repeat(6000)}`; // ~140 KB

/**
 * Runs coven with its stdin a pipe that stays open and silent (as under `sleep 1000 |
 * coven …` or a supervisor): reading /dev/stdin waits forever. (Node's own 'pipe' is a
 * socket, which /dev/stdin cannot open: a FIFO held open for writing is the real thing.)
 */
function covenStdinOpen(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run & { hung: boolean }> {
  const fifo = join(tempDir('coven-stdin-'), 'stdin');
  execFileSync('mkfifo', [fifo]);
  const fd = openSync(fifo, 'r+'); // read-write: opening never waits, and a writer stays
  return new Promise((done) => {
    const child = spawn(process.execPath, [covenBin, ...args], { cwd, env: { ...process.env, ...env }, stdio: [fd, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, hangLimit);
    child.on('close', (code) => {
      clearTimeout(timer);
      closeSync(fd);
      done({ code: code ?? 1, stdout, stderr, hung });
    });
  });
}

async function repoWithAgentLink(target: string): Promise<string> {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  symlinkSync(target, join(repo, '.coven', 'agents', 'evil.md'));
  await sh(repo, 'add', '-A');
  await sh(repo, 'commit', '-q', '-m', 'an agent file that is a link');
  return repo;
}

test('a committed agent file that is a link to /dev/stdin: coven agents does not hang, and names the file', async () => {
  const repo = await repoWithAgentLink('/dev/stdin');
  const r = await covenStdinOpen(['agents'], repo);
  assert.not.ok(r.hung, 'coven agents hung reading /dev/stdin');
  const out = r.stdout + r.stderr;
  assert.match(out, /\.coven\/agents\/evil\.md: is a symbolic link, not a file/);
  assert.match(out, /plan — writes a plan/); // the other agents are still listed
  noStack(out);
});

test('a committed agent file that is a link to /dev/stdin: dispatch decides without it and lets go of the dispatch lock', async () => {
  const repo = await repoWithAgentLink('/dev/stdin');
  const env = fakeClaudeEnv([choose('agent: plan', 'issue: issues/a.md'), choose('sleep: nothing')]);
  const out = join(tempDir(), 'decision.json');
  const first = await covenStdinOpen(['dispatch', '--out', out, '--worker', 'w1'], repo, env);
  assert.not.ok(first.hung, 'coven dispatch hung reading /dev/stdin, holding the dispatch lock');
  assert.is(first.code, 0, first.stdout + first.stderr);
  assert.match(first.stderr, /\.coven\/agents\/evil\.md: is a symbolic link, not a file/);
  noStack(first.stderr);
  const second = await coven(['dispatch', '--out', out, '--worker', 'w2'], { cwd: repo, env, timeoutMs: hangLimit });
  assert.is(second.code, 0, `the dispatch lock was left held:\n${second.stderr}`);
});

test('an agent file that links to a file elsewhere is not followed (what it says is not what was committed)', async () => {
  const elsewhere = join(tempDir(), 'agent.md');
  writeFileSync(elsewhere, '---\ndescription: from outside\n---\nDo it.\n');
  const repo = await repoWithAgentLink(elsewhere);
  const r = await coven(['agents'], { cwd: repo, timeoutMs: hangLimit });
  assert.match(r.stdout + r.stderr, /\.coven\/agents\/evil\.md: is a symbolic link, not a file/);
  assert.not.match(r.stdout, /from outside/);
});

test('an agent file over the size limit is named, not read', async () => {
  const repo = await covenRepo({ '.coven/agents/huge.md': `---\ndescription: huge\n---\n${'x'.repeat(300 * 1024)}\n` });
  const r = await coven(['agents'], { cwd: repo, timeoutMs: hangLimit });
  assert.match(r.stdout + r.stderr, /\.coven\/agents\/huge\.md: is \d+ bytes, over the limit of 262144 for an agent file/);
});

test('a 140 KB description is a registry problem naming the file and the field; so is a huge claude_args entry', () => {
  const long = parseAgentFile('big.md', `---\ndescription: ${bigDescription}\n---\nDo it.\n`);
  assert.is(long.kind, 'invalid');
  if (long.kind === 'invalid') assert.match(long.problems.map(formatFileProblem).join('\n'), /^\.coven\/agents\/big\.md: description: is \d+ characters long, over the limit of 2000/m);
  const arg = parseAgentFile('big.md', `---\ndescription: d\nclaude_args: ["--model=${'m'.repeat(20_000)}"]\n---\nDo it.\n`);
  assert.is(arg.kind, 'invalid');
  if (arg.kind === 'invalid') assert.match(arg.problems.map(formatFileProblem).join('\n'), /big\.md: claude_args\[0\]: is 20008 characters long, over the limit of 8192/);
});

test('an agent file with a 140 KB description: coven dispatch names it and decides with the others (no spawn E2BIG)', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), '.coven/agents/big.md': `---\ndescription: ${bigDescription}\n---\nDo it.\n` });
  const env = fakeClaudeEnv([{ expect: { systemPromptIncludes: 'plan — writes a plan' }, ...choose('agent: plan', 'issue: issues/a.md') }]);
  const out = join(tempDir(), 'decision.json');
  const r = await coven(['dispatch', '--out', out, '--worker', 'w1'], { cwd: repo, env, timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /\.coven\/agents\/big\.md: description: is \d+ characters long, over the limit of 2000/);
  noStack(r.stderr);
  assertFakeRunsOk(env);
});

test('an agent file with a 140 KB description: a worker names it, goes on, and never stops with a stack trace', async () => {
  const repo = await covenRepo({ '.coven/agents/big.md': `---\ndescription: ${bigDescription}\n---\nDo it.\n` });
  const env = { ...fakeClaudeEnv([choose('sleep: nothing to do')]), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const r = await coven(['worker', '--name', 'w1', '--max-idle', '1'], { cwd: repo, env, timeoutMs: 90_000 });
  const out = r.stdout + r.stderr;
  assert.is(r.code, 0, out);
  assert.match(out, /\.coven\/agents\/big\.md: description: is \d+ characters long/);
  assert.match(out, /w1 sleeps: nothing to do/);
  noStack(out);
});

// ---- the session layer: no argument over the OS limit ----

async function session(more: Record<string, unknown>, script: FakeRun[] | null = null): Promise<{ outcome: SessionOutcome; env: ReturnType<typeof fakeClaudeEnv>; lines: string[] }> {
  const repo = await tempRepo();
  const env = fakeClaudeEnv(script);
  const lines: string[] = [];
  const outcome = await runSession({ cwd: repo, prompt: 'Choose the next job.', env: { ...process.env, ...env }, display: (l) => lines.push(l), lingerMs: 500, killGraceMs: 1000, ...more });
  return { outcome, env, lines };
}

test('a system prompt over the safe bound for one argument goes on stdin, ahead of the prompt, and the session runs', async () => {
  const catalog = `agents:\n${'plan — writes a plan for one issue\n'.repeat(8000)}the end of the catalog`;
  const { outcome, env } = await session({ systemText: catalog }, [{ expect: { promptIncludes: ['the end of the catalog', 'Choose the next job.'] }, steps: [{ text: 'ok' }] }]);
  assert.is(outcome.kind, 'success', JSON.stringify(outcome));
  const [call] = assertFakeRunsOk(env);
  assert.ok(call);
  assert.not.ok(call.argv.includes('--append-system-prompt'), 'the big text went as an argument');
  for (const a of call.argv) assert.ok(Buffer.byteLength(a) <= MAX_ARG_BYTES, `an argument of ${a.length} characters`);
});

test('a small system prompt still goes as --append-system-prompt', async () => {
  const { outcome, env } = await session({ systemText: 'coven protocol' });
  assert.is(outcome.kind, 'success', JSON.stringify(outcome));
  const call = readFakeLog(env)[0];
  assert.equal(call?.argv.slice(call.argv.indexOf('--append-system-prompt'), call.argv.indexOf('--append-system-prompt') + 2), ['--append-system-prompt', 'coven protocol']);
});

test('an argument that cannot move to stdin and is over the bound: a typed outcome naming it, the CLI never started', async () => {
  const { outcome, env, lines } = await session({ extraArgs: ['--model', 'm'.repeat(200 * 1024)] });
  assert.is(outcome.kind, 'too-big', JSON.stringify(outcome).slice(0, 300));
  if (outcome.kind === 'too-big') assert.match(outcome.what, /an argument given after --/);
  assert.is(readFakeLog(env).length, 0);
  assert.match(lines.join('\n'), /the agent CLI was not started: an argument given after -- .* is 204800 bytes, over the limit of 102400/);
});

test('an environment over the OS limit: a typed outcome naming it, not a thrown E2BIG', async () => {
  const { outcome } = await session({ env: { ...process.env, ...fakeClaudeEnv(null), COVEN_HUGE: 'h'.repeat(200 * 1024) } });
  assert.is(outcome.kind, 'too-big');
  if (outcome.kind === 'too-big') assert.match(outcome.what, /COVEN_HUGE/);
  const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`COVEN_BIG_${i}`, 'b'.repeat(60 * 1024)]));
  const { outcome: total } = await session({ env: { ...process.env, ...fakeClaudeEnv(null), ...many } });
  assert.is(total.kind, 'too-big');
  if (total.kind === 'too-big') assert.is(total.what, 'the command line and the environment together');
});

// ---- issue, state, wake and lock files ----

test('an issue file that is a FIFO or a link to /dev/stdin: coven issues lists it with why, and does not hang', async () => {
  const repo = await tempRepo();
  mkdirSync(join(repo, 'issues'));
  writeFileSync(join(repo, 'issues', 'a.md'), issueFile('Fix a'));
  execFileSync('mkfifo', [join(repo, 'issues', 'fifo.md')]);
  symlinkSync('/dev/stdin', join(repo, 'issues', 'stdin.md'));
  const r = await covenStdinOpen(['issues'], repo);
  assert.not.ok(r.hung, 'coven issues hung');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /issues\/a\.md\s+new\s+P1\s+Fix a/);
  assert.match(r.stdout, /issues\/fifo\.md .*\(not read: is a FIFO, not a file\)/);
  assert.match(r.stdout, /issues\/stdin\.md .*\(not read: is a symbolic link, not a file\)/);
});

test('a worker state file that is a FIFO is reported corrupt, naming what it is; main-branch as a FIFO reads as nothing recorded', async () => {
  const stateDir = tempDir('coven-state-');
  mkdirSync(join(stateDir, 'workers'));
  execFileSync('mkfifo', [join(stateDir, 'workers', 'w9.json')]);
  const states = await readWorkerStates(stateDir);
  assert.equal(states.map((s) => [s.kind, s.kind === 'corrupt' ? s.reason : '']), [['corrupt', 'is a FIFO, not a regular file']]);
  execFileSync('mkfifo', [join(stateDir, 'main-branch')]);
  assert.is(await recordedMainBranch(stateDir), null);
});

test('a lock file that is a FIFO is named as one, with the command that moves it away', async () => {
  const dir = join(tempDir('coven-locks-'), 'locks');
  mkdirSync(dir);
  execFileSync('mkfifo', [join(dir, 'dispatch.lock')]);
  const seen = await observe(join(dir, 'dispatch.lock'));
  assert.is(seen?.read.kind, 'corrupt');
  if (seen?.read.kind === 'corrupt') {
    assert.is(seen.read.reason, 'a FIFO, not a file');
    assert.match(seen.read.fix ?? '', /^mv .*dispatch\.lock/);
  }
});

test.run();
