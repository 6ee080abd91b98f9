// scaling-remote — the machines of the scaling bench in remote mode: the bench's repository
// served by `git daemon` on loopback (test/helpers/git-daemon.ts), one clone per "machine"
// (its own git dir, state dir and worktree folder, hooks installed, COVEN_MACHINE=m<k>), and
// a clone of the user's for the conflicting jobs' edits, which are pushed. Worker i runs on
// machine i mod `machines`, with --remote origin. Not a benchmark: scaling.bench.ts and
// scaling-remote.bench.ts use it.

import { join } from 'node:path';
import { machineClone, serveRepository, startGitDaemon } from '../test/helpers/git-daemon.js';
import { coven, sh, tempDir } from '../test/helpers/repo.js';

export interface Machines {
  /** the served bare repository (its main is the one that counts) */
  bare: string;
  /** the user's clone */
  human: string;
  /** where worker i runs: its folder, its extra arguments and environment */
  place(i: number): { cwd: string; args: string[]; env: Record<string, string> };
  stop(): Promise<void>;
}

export async function spreadOverMachines(seed: string, machines: number): Promise<Machines> {
  const daemon = await startGitDaemon();
  const url = await serveRepository(daemon, seed);
  const clones: Array<{ clone: string; base: string }> = [];
  for (let k = 1; k <= machines; k++) {
    const clone = await machineClone(url, `m${k}`);
    await sh(clone, 'config', 'gc.auto', '0');
    const hooks = await coven(['hooks', 'install'], { cwd: clone });
    if (hooks.code !== 0) throw new Error(`coven hooks install failed on m${k}: ${hooks.stderr}`);
    clones.push({ clone, base: tempDir(`coven-scaling-m${k}-`) });
  }
  return {
    bare: join(daemon.base, 'project.git'),
    human: await machineClone(url, 'user'),
    place: (i) => {
      const k = i % machines;
      return { cwd: clones[k]!.clone, args: ['--remote', 'origin'], env: { COVEN_MACHINE: `m${k + 1}`, COVEN_WORKTREE_BASE: clones[k]!.base } };
    },
    stop: () => daemon.stop(),
  };
}
