// fake-codex (helper) — points a test at the fake Codex CLI (fakes/codex.ts): the env that
// selects it and its script, its invocation log, where its sessions go.
//
//   const env = fakeCodexEnv([{ steps: [{ bash: 'echo hi' }] }], dir);
//   readCodexLog(env)  → one FakeInvocation per fake process that ended

import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeInvocation, FakeRun } from '../../fakes/claude.js';
import { CODEX_FLAGS } from '../../scripts/lib/clis/codex.js';
import { projectRoot, run, tempDir, type Run } from './repo.js';

export const fakeCodexBin = join(projectRoot, 'fakes', 'bin', 'codex');

export type FakeCodexEnv = {
  /** the fake, for the session runner */
  COVEN_CODEX: string;
  FAKE_CODEX_SCRIPT: string;
  FAKE_CODEX_LOG: string;
  /** the CLI's folder (sessions) */
  CODEX_HOME: string;
  FAKE_CODEX_NODE: string;
};

/** Env vars that make coven use the fake Codex with this script (null: none, every turn says "Done."). */
export function fakeCodexEnv(script: FakeRun[] | null, dir: string = tempDir('coven-fake-codex-')): FakeCodexEnv {
  if ((statSync(fakeCodexBin).mode & 0o111) !== 0o111) chmodSync(fakeCodexBin, 0o755);
  mkdirSync(dir, { recursive: true });
  const env: FakeCodexEnv = {
    COVEN_CODEX: fakeCodexBin,
    FAKE_CODEX_SCRIPT: script ? join(dir, 'fake-codex-script.json') : '',
    FAKE_CODEX_LOG: join(dir, 'fake-codex-log.jsonl'),
    CODEX_HOME: join(dir, 'codex-home'),
    FAKE_CODEX_NODE: process.execPath,
  };
  if (script) writeCodexScript(env, script);
  return env;
}

/** Replaces the script and forgets which runs were used. */
export function writeCodexScript(env: Pick<FakeCodexEnv, 'FAKE_CODEX_SCRIPT'>, script: FakeRun[]): void {
  writeFileSync(env.FAKE_CODEX_SCRIPT, JSON.stringify(script, null, 2));
  rmSync(`${env.FAKE_CODEX_SCRIPT}.counter.json`, { force: true });
}

export function readCodexLog(env: Pick<FakeCodexEnv, 'FAKE_CODEX_LOG'>): FakeInvocation[] {
  if (!existsSync(env.FAKE_CODEX_LOG)) return [];
  return readFileSync(env.FAKE_CODEX_LOG, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FakeInvocation);
}

/** Runs the fake to its end; stdin gets `input` and is closed (default: empty). */
export function runFakeCodex(args: string[], opts: { cwd: string; env: FakeCodexEnv | Record<string, string>; input?: string; timeoutMs?: number }): Promise<Run> {
  return run(fakeCodexBin, args, { cwd: opts.cwd, env: opts.env, input: opts.input ?? '', ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
}

/** `exec` with the flags coven gives (scripts/lib/clis/codex.ts), then -- and the prompt. */
export const codexStart = (prompt: string, extra: string[] = []): string[] => ['exec', ...CODEX_FLAGS, ...extra, '--', prompt];
export const codexResume = (id: string, prompt: string, extra: string[] = []): string[] => ['exec', 'resume', ...CODEX_FLAGS, ...extra, '--', id, prompt];
