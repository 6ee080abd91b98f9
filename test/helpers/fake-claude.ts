// fake-claude (helper) — points a test at the fake claude (test/fake-claude.ts) and reads
// back what it did: the env that selects it and its script, its invocation log, its
// session transcripts, and where the real CLI's captured samples are.
//
//   const env = fakeClaudeEnv([{ steps: [{ bash: 'echo hi' }] }], dir);
//   await runSession({ cwd, prompt, env: { ...process.env, ...env } });
//   readFakeLog(env)  → one FakeInvocation per fake process that ended
//   assertFakeRunsOk(env)  → fails unless every fake ran as scripted (its `expect` met, exit 0)

import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { encodeProjectPath, type FakeInvocation, type FakeRun } from '../../fakes/claude.js';
import { projectRoot, run, tempDir, type Run } from './repo.js';

export type { FakeInvocation, FakeRun, FakeStep } from '../../fakes/claude.js';

/** The shim that runs the compiled fake (an executable sh script in the source tree). */
export const fakeClaudeBin = join(projectRoot, 'fakes', 'bin', 'claude');

export type FakeClaudeEnv = {
  /** the fake, for the session runner */
  COVEN_CLAUDE: string;
  FAKE_CLAUDE_SCRIPT: string;
  FAKE_CLAUDE_LOG: string;
  /** sessions go here instead of ~/.claude */
  CLAUDE_CONFIG_DIR: string;
  /** the node that runs the fake: the one running the tests */
  FAKE_CLAUDE_NODE: string;
};

/**
 * Env vars that make coven use the fake with this script (runs are consumed in order; see
 * FakeRun). Files live in `dir` (default: a new temp dir). `null`: no script ("Done.").
 */
export function fakeClaudeEnv(script: FakeRun[] | null, dir: string = tempDir('coven-fake-')): FakeClaudeEnv {
  ensureExecutable(fakeClaudeBin);
  mkdirSync(dir, { recursive: true });
  const env: FakeClaudeEnv = {
    COVEN_CLAUDE: fakeClaudeBin,
    FAKE_CLAUDE_SCRIPT: script ? join(dir, 'fake-claude-script.json') : '',
    FAKE_CLAUDE_LOG: join(dir, 'fake-claude-log.jsonl'),
    CLAUDE_CONFIG_DIR: join(dir, 'claude-config'),
    FAKE_CLAUDE_NODE: process.execPath,
  };
  if (script) writeFakeScript(env, script);
  return env;
}

/** Replaces the script and forgets which runs were used. */
export function writeFakeScript(env: Pick<FakeClaudeEnv, 'FAKE_CLAUDE_SCRIPT'>, script: FakeRun[]): void {
  writeFileSync(env.FAKE_CLAUDE_SCRIPT, JSON.stringify(script, null, 2));
  rmSync(`${env.FAKE_CLAUDE_SCRIPT}.counter.json`, { force: true });
}

/** Every invocation of the fake that has ended, in the order they ended. */
export function readFakeLog(env: Pick<FakeClaudeEnv, 'FAKE_CLAUDE_LOG'>): FakeInvocation[] {
  if (!existsSync(env.FAKE_CLAUDE_LOG)) return [];
  return readFileSync(env.FAKE_CLAUDE_LOG, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FakeInvocation);
}

/**
 * Asserts the fake ran, and that every invocation ended as the script meant it to: no
 * script problem and the exit code `exitOf` gives it (default 0). A run's `expect` that
 * fails, or a turn with no run left, makes the fake exit 97 without a result; a worker
 * goes on past that ("nothing to land", exit 0), so an end-to-end test that relies on
 * `expect` must call this or its expectations check nothing. Returns the log.
 */
export function assertFakeRunsOk(env: Pick<FakeClaudeEnv, 'FAKE_CLAUDE_LOG'>, exitOf: (call: FakeInvocation) => number = () => 0): FakeInvocation[] {
  const calls = readFakeLog(env);
  assert.ok(calls.length > 0, `the fake claude was never run (log: ${env.FAKE_CLAUDE_LOG})`);
  const wrong = calls.flatMap((c, i) => {
    const expected = exitOf(c);
    if (c.problems.length === 0 && c.exitCode === expected) return [];
    const prompt = JSON.stringify((c.prompts[0] ?? '').split('\n')[0]!.slice(0, 80));
    return [`fake run ${i + 1} of ${calls.length} (prompt ${prompt}, in ${c.cwd}): exit ${c.exitCode}${c.signal ? ` (${c.signal})` : ''}, expected ${expected}${c.problems.map((p) => `; ${p}`).join('')}`];
  });
  assert.equal(wrong, [], `the fake claude did not run as scripted:\n${wrong.join('\n')}`);
  return calls;
}

/** The transcript the fake (like the real CLI) keeps for a session started in `cwd`. */
export function fakeTranscriptPath(env: Pick<FakeClaudeEnv, 'CLAUDE_CONFIG_DIR'>, cwd: string, sessionId: string): string {
  return join(env.CLAUDE_CONFIG_DIR, 'projects', encodeProjectPath(realpathSync(cwd)), `${sessionId}.jsonl`);
}

/** The transcript's lines, parsed. */
export function readFakeTranscript(env: Pick<FakeClaudeEnv, 'CLAUDE_CONFIG_DIR'>, cwd: string, sessionId: string): Record<string, unknown>[] {
  return readFileSync(fakeTranscriptPath(env, cwd, sessionId), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * The real CLI's captured output (2.1.197 against the mock Messages API; copies of the
 * reference's claude-cli-samples), kept in the repository so a fresh clone tests alone.
 */
export function cliSamplesDir(): string {
  return join(projectRoot, 'test', 'fixtures', 'claude-cli-samples');
}

function ensureExecutable(file: string): void {
  if ((statSync(file).mode & 0o111) !== 0o111) chmodSync(file, 0o755);
}

/** Runs the fake to its end; stdin gets `input` and is closed (default: empty, so no 3 s wait). */
export function runFake(args: string[], opts: { cwd: string; env: FakeClaudeEnv | Record<string, string>; input?: string }): Promise<Run> {
  return run(fakeClaudeBin, args, { cwd: opts.cwd, env: opts.env, input: opts.input ?? '' });
}

/** The JSON events of a stream-json stdout. */
export function streamEvents(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** One stream-json stdin user message. */
export function userMessage(text: string): string {
  return `${JSON.stringify({ type: 'user', message: { role: 'user', content: text } })}\n`;
}
