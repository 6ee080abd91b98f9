// worker-process — a `coven worker` (or any coven command) running in the background,
// for tests that change the repository under a running worker: its output so far, a
// wait for a line to appear, a wait for a condition, its exit.

import { spawn } from 'node:child_process';
import { covenBin, type Run } from './repo.js';

export interface BackgroundCoven {
  pid: number;
  /** stdout and stderr so far, interleaved as they arrived */
  output(): string;
  /** resolves once the output matches (rejects after timeoutMs, default 60 s, or when the process ends first) */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<Run>;
}

export function startCoven(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; nodeArgs?: string[] }): BackgroundCoven {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), covenBin, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let all = '';
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const l of listeners) l();
  };
  child.stdout.on('data', (d: Buffer) => {
    all += d.toString();
    stdout += d.toString();
    changed();
  });
  child.stderr.on('data', (d: Buffer) => {
    all += d.toString();
    stderr += d.toString();
    changed();
  });
  let ended = false;
  const exited = new Promise<Run>((resolve) =>
    child.on('close', (code, signal) => {
      ended = true;
      changed();
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    }),
  );
  return {
    pid: child.pid ?? -1,
    output: () => all,
    exited,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(all)) done(resolve);
          else if (ended) done(() => reject(new Error(`coven ${args.join(' ')} ended before printing ${pattern}:\n${all}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no ${pattern} after ${timeoutMs} ms:\n${all}`))), timeoutMs);
        const done = (then: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          then();
        };
        listeners.add(check);
        check();
      }),
  };
}

/** Polls `condition` every few ms until it holds (rejects after timeoutMs, default 30 s). */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
