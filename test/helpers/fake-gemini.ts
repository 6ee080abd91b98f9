// fake-gemini (helper) — points a test at the fake Gemini CLI (fakes/gemini.ts): the env
// that selects it and its script, its invocation log, where its sessions go.
//
//   const env = fakeGeminiEnv([{ steps: [{ bash: 'echo hi' }] }], dir);
//   readGeminiLog(env)  → one FakeInvocation per fake process that ended

import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeInvocation, FakeRun } from '../../fakes/claude.js';
import { projectRoot, run, tempDir, type Run } from './repo.js';

export const fakeGeminiBin = join(projectRoot, 'fakes', 'bin', 'gemini');

export type FakeGeminiEnv = {
  /** the fake, for the session runner */
  COVEN_GEMINI: string;
  FAKE_GEMINI_SCRIPT: string;
  FAKE_GEMINI_LOG: string;
  /** the CLI's folder (sessions, projects.json) goes under here instead of $HOME */
  GEMINI_CLI_HOME: string;
  FAKE_GEMINI_NODE: string;
};

/** Env vars that make coven use the fake Gemini CLI with this script (null: none, every turn says "Done."). */
export function fakeGeminiEnv(script: FakeRun[] | null, dir: string = tempDir('coven-fake-gemini-')): FakeGeminiEnv {
  if ((statSync(fakeGeminiBin).mode & 0o111) !== 0o111) chmodSync(fakeGeminiBin, 0o755);
  mkdirSync(dir, { recursive: true });
  const env: FakeGeminiEnv = {
    COVEN_GEMINI: fakeGeminiBin,
    FAKE_GEMINI_SCRIPT: script ? join(dir, 'fake-gemini-script.json') : '',
    FAKE_GEMINI_LOG: join(dir, 'fake-gemini-log.jsonl'),
    GEMINI_CLI_HOME: join(dir, 'gemini-home'),
    FAKE_GEMINI_NODE: process.execPath,
  };
  if (script) writeGeminiScript(env, script);
  return env;
}

/** Replaces the script and forgets which runs were used. */
export function writeGeminiScript(env: Pick<FakeGeminiEnv, 'FAKE_GEMINI_SCRIPT'>, script: FakeRun[]): void {
  writeFileSync(env.FAKE_GEMINI_SCRIPT, JSON.stringify(script, null, 2));
  rmSync(`${env.FAKE_GEMINI_SCRIPT}.counter.json`, { force: true });
}

export function readGeminiLog(env: Pick<FakeGeminiEnv, 'FAKE_GEMINI_LOG'>): FakeInvocation[] {
  if (!existsSync(env.FAKE_GEMINI_LOG)) return [];
  return readFileSync(env.FAKE_GEMINI_LOG, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FakeInvocation);
}

/** Runs the fake to its end; stdin gets `input` and is closed (default: empty). */
export function runFakeGemini(args: string[], opts: { cwd: string; env: FakeGeminiEnv | Record<string, string>; input?: string; timeoutMs?: number }): Promise<Run> {
  return run(fakeGeminiBin, args, { cwd: opts.cwd, env: opts.env, input: opts.input ?? '', ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
}

/** The flags coven gives every session (scripts/lib/clis/gemini.ts), after -p. */
export const GEMINI_FLAGS = ['--output-format', 'stream-json', '--yolo', '--skip-trust'];
