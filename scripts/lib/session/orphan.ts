// orphan-session — end the agent session a dead worker left running.
//
// The agent CLI runs in a process group of its own (session-runner), so a worker killed
// with kill -9 leaves it behind: it finishes its turn, editing files and committing in
// the worktree, while a new worker of the same name adopts that worktree or `coven gc`
// removes it — a commit made as the worktree is removed would be lost. So whoever takes
// over a dead worker's worktree ends its session first: SIGTERM to the CLI's group and
// to the groups of its descendants (the real CLI runs each Bash command in a session of
// its own), SIGKILL after a grace period. A process is only signalled when its recorded
// start time proves it is still the same process (a reused pid is left alone).
// Inputs: the process recorded in the dead worker's state file (host, pid, start).
// Outputs: whether a session was ended; nothing is thrown for a process that is gone.

import { spawnSync } from 'node:child_process';
import { livenessOf } from '../locks/process-identity.js';
import { descendantGroups } from './process-groups.js';

export interface RecordedProcess {
  host: string;
  pid: number;
  start: string | null;
}

/** Ends the recorded session if it still runs; 'not-running' when there is nothing (provably ours) to end. */
export async function endOrphanedSession(p: RecordedProcess, graceMs = 3000): Promise<'not-running' | 'ended'> {
  if (p.start === null || livenessOf(p).kind !== 'alive') return 'not-running';
  const groups = [p.pid, ...descendantGroups(p.pid)];
  signalGroups(groups, 'SIGTERM');
  if (await gone(groups, graceMs)) return 'ended';
  signalGroups(groups, 'SIGKILL');
  await gone(groups, 1000);
  return 'ended';
}

function signalGroups(groups: number[], signal: NodeJS.Signals): void {
  for (const g of groups) {
    try {
      process.kill(-g, signal);
    } catch {
      // already gone
    }
  }
}

/** Whether any process of these groups still runs (zombies, which signals cannot end, do not count). */
function anyAlive(groups: number[]): boolean {
  const ps = spawnSync('ps', ['-A', '-o', 'pgid=,stat='], { encoding: 'utf8' });
  if (ps.status !== 0 || typeof ps.stdout !== 'string') return groups.some(groupExists);
  const wanted = new Set(groups);
  return ps.stdout.split('\n').some((line) => {
    const [pgid, stat] = line.trim().split(/\s+/);
    return wanted.has(Number(pgid)) && stat !== undefined && !stat.startsWith('Z');
  });
}

function groupExists(g: number): boolean {
  try {
    process.kill(-g, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function gone(groups: number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (anyAlive(groups)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
