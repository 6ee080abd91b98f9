// fake-claude (helper) — points a test at the fake claude (test/fake-claude.ts) and reads
// back what it did: the env that selects it and its script, its invocation log, its
// session transcripts, and where the real CLI's captured samples are.
//
//   const env = fakeClaudeEnv([{ steps: [{ bash: 'echo hi' }] }], dir);
//   await runSession({ cwd, prompt, env: { ...process.env, ...env } });
//   readFakeLog(env)  → one FakeInvocation per fake process that ended

import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeProjectPath, type FakeInvocation, type FakeRun } from '../fake-claude.js';
import { projectRoot, run, tempDir, type Run } from './repo.js';

export type { FakeInvocation, FakeRun, FakeStep } from '../fake-claude.js';

/** The shim that runs the compiled fake (an executable sh script in the source tree). */
export const fakeClaudeBin = join(projectRoot, 'test', 'bin', 'claude');

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
