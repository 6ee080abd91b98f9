// overrides — a repository's own executable for a step, which a worker runs instead of
// coven's core, under the same contract (docs/steps.md, "Replacing a step").
//
// Where a worker looks, first match wins:
//   COVEN_STEP_<STEP>        an env var naming the executable (COVEN_STEP_LAND,
//                            COVEN_STEP_RUN_AGENT, …); a relative path is taken from the
//                            main worktree
//   .coven/steps/<step>      an executable file in the MAIN worktree (the human's
//                            checkout): an agent's commit on its branch does not change it
//                            until it lands, and a worker looks only when it starts
// Neither: the core runs in-process. A path that is there but is not an executable
// regular file is refused (the worker does not start), never silently skipped.

import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export const REPLACEABLE_STEPS = ['land', 'dispatch', 'run-agent', 'resolve-conflict'] as const;
export type ReplaceableStep = (typeof REPLACEABLE_STEPS)[number];

export type StepOverride = { kind: 'core' } | { kind: 'replaced'; path: string; via: string } | { kind: 'bad'; problem: string };

/** The env var that names a step's replacement: COVEN_STEP_LAND, COVEN_STEP_RUN_AGENT, … */
export function stepEnvVar(step: ReplaceableStep): string {
  return `COVEN_STEP_${step.toUpperCase().replace(/-/g, '_')}`;
}

export function findStepOverride(step: ReplaceableStep, mainWorktree: string, env: NodeJS.ProcessEnv = process.env): StepOverride {
  const named = env[stepEnvVar(step)]?.trim();
  if (named) return checked(isAbsolute(named) ? named : resolve(mainWorktree, named), stepEnvVar(step));
  const file = join(mainWorktree, '.coven', 'steps', step);
  try {
    statSync(file);
  } catch {
    return { kind: 'core' };
  }
  return checked(file, `.coven/steps/${step}`);
}

/** Every replaced step, or the first problem. */
export function findStepOverrides(mainWorktree: string, env: NodeJS.ProcessEnv = process.env): { kind: 'found'; steps: Partial<Record<ReplaceableStep, string>>; via: string[] } | { kind: 'bad'; problem: string } {
  const steps: Partial<Record<ReplaceableStep, string>> = {};
  const via: string[] = [];
  for (const step of REPLACEABLE_STEPS) {
    const o = findStepOverride(step, mainWorktree, env);
    if (o.kind === 'bad') return o;
    if (o.kind === 'replaced') {
      steps[step] = o.path;
      via.push(`${step}: ${o.path} (${o.via})`);
    }
  }
  return { kind: 'found', steps, via };
}

function checked(path: string, via: string): StepOverride {
  try {
    if (!statSync(path).isFile()) return { kind: 'bad', problem: `${path} (${via}) is not a file` };
    accessSync(path, constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { kind: 'bad', problem: code === 'ENOENT' ? `${path} (${via}) does not exist` : `${path} (${via}) is not executable (chmod +x ${path})` };
  }
  return { kind: 'replaced', path, via };
}

/** What a replaced step is given besides its arguments: where it runs, and the step files. */
export interface StepEnv {
  COVEN_WORKTREE: string;
  COVEN_DECISION: string;
  COVEN_SESSION: string;
  COVEN_MAIN_BRANCH: string;
  COVEN_MAIN_WORKTREE: string;
  COVEN_WORKER: string;
}

/**
 * Runs a replaced step: the executable itself (no shell), cwd = the worker's worktree,
 * its stdout and stderr shown line by line. Its answer is its exit code (null: killed
 * by a signal, or it could not be started: `error` says why) and the files it wrote.
 */
export function runStepExecutable(o: { path: string; args: string[]; env: StepEnv; baseEnv?: NodeJS.ProcessEnv; display: (line: string) => void; signal?: AbortSignal }): Promise<{ code: number | null; error?: string }> {
  return new Promise((done) => {
    const child = spawn(o.path, o.args, { cwd: o.env.COVEN_WORKTREE, env: { ...(o.baseEnv ?? process.env), ...o.env }, stdio: ['ignore', 'pipe', 'pipe'], signal: o.signal });
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (l) => o.display(l));
    child.on('error', (err) => done({ code: null, error: err.message }));
    child.on('close', (code) => done({ code }));
  });
}
