// run-codex — runs the real `codex exec` once against the mock Responses API, the way
// coven does (scripts/lib/clis/codex.ts): --json, stdin closed, its own process group,
// a wall-clock timeout.
//
//   inputs:  the codex executable, cwd, args, and an isolated environment from codexEnv()
//   outputs: stdout, stderr, the exit code or signal; nothing is thrown for a failed run

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codexConfig } from './mock-responses-api.js';

/**
 * The environment of a Codex run against the mock at `baseUrl`: the caller's environment
 * without anything that would reach a real account (OPENAI_*, CODEX_*), plus HOME and
 * CODEX_HOME under `home` (sessions, logs and the state databases stay there), a
 * config.toml that names the mock as the model provider, and its dummy key.
 */
export function codexEnv(baseUrl: string, home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(OPENAI_|CODEX_)/.test(k)) continue;
    env[k] = v;
  }
  const codexHome = join(home, '.codex');
  mkdirSync(codexHome, { recursive: true });
  writeFileSync(join(codexHome, 'config.toml'), codexConfig(baseUrl));
  return { ...env, HOME: home, CODEX_HOME: codexHome, MOCK_OPENAI_KEY: 'sk-mock-key', ...extra };
}

export interface CodexRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** ms from spawn to the first stdout line, and to the exit */
  firstLineMs: number | null;
  durationMs: number;
}

/** Runs `bin args` in `cwd` with stdin closed; kills its whole group after `timeoutMs`. */
export function runCodex(bin: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CodexRun> {
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(bin, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let firstLineMs: number | null = null;
    child.stdout.on('data', (d: Buffer) => {
      if (firstLineMs === null) firstLineMs = Date.now() - started;
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // the npm launcher runs a native binary under it: end the whole group
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, opts.timeoutMs ?? 120_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, firstLineMs, durationMs: Date.now() - started });
    });
  });
}
