// remote-machines — a coven repository served by a real git daemon on loopback and
// "machines" (clones) running `coven worker --remote origin` whose dispatch always
// answers sleep: what the remote-mode waking and status tests share.

import { join } from 'node:path';
import { covenRepo } from './coven-repo.js';
import { fakeClaudeEnv, type FakeRun } from './fake-claude.js';
import { machineClone, serveRepository, startGitDaemon, type GitDaemon } from './git-daemon.js';
import { commitFile, sh, tempDir } from './repo.js';
import { startWorker, type WorkerProc } from './worker-procs.js';

/** Every dispatch answers sleep. */
export const sleepRun: FakeRun = { match: { promptIncludes: 'Choose the next job' }, times: 'unlimited', steps: [{ text: 'Nothing to do.\n<dispatch>\nsleep: nothing left to do\n</dispatch>' }] };

/** A served coven repository and machines (clones) named `names` (default a and b). */
export async function remoteSetup<N extends string = 'a' | 'b'>(names: N[] = ['a', 'b'] as N[]): Promise<{ daemon: GitDaemon; url: string } & Record<N, string>> {
  const daemon = await startGitDaemon();
  const url = await serveRepository(daemon, await covenRepo());
  const machines = {} as Record<N, string>;
  for (const n of names) machines[n] = await machineClone(url, n);
  return { daemon, url, ...machines };
}

/** The machine at `clone` commits on main and pushes it to the remote; returns the commit. */
export async function pushFrom(clone: string, n: number): Promise<string> {
  await sh(clone, 'pull', '-q', '--ff-only', 'origin', 'main');
  const tip = await commitFile(clone, `human-${n}.txt`, `${n}\n`, `a human's push ${n}`);
  await sh(clone, 'push', '-q', 'origin', 'main');
  return tip;
}

/** `coven worker --name NAME --remote origin` on the machine `machine` (a clone), dispatch answering sleep. */
export function remoteWorker(clone: string, machine: string, name: string, extraEnv: Record<string, string> = {}): { w: WorkerProc; env: Record<string, string> } {
  const dir = tempDir('coven-rworker-');
  const env = { ...fakeClaudeEnv([sleepRun], dir), COVEN_WORKTREE_BASE: join(dir, 'worktrees'), COVEN_MACHINE: machine, COVEN_SAFETY_INTERVAL_MS: '600000', ...extraEnv };
  return { w: startWorker(clone, name, env, ['--remote', 'origin']), env };
}
