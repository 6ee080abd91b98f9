// process-identity — tell whether a pid recorded in a file still names the same
// process, so that a recycled pid is never mistaken for a live worker or lock holder.
//
// A process is identified by (host, pid, start time). The start time is read from
// /proc/<pid>/stat (field 22, clock ticks since boot, prefixed with the boot id so a
// reboot changes it); where /proc is missing (macOS, BSD) it is `ps -o lstart=`.
// Inputs: pids. Outputs: values; nothing here throws for a missing process.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessIdentity {
  host: string;
  pid: number;
  /** opaque start-time token; null when it could not be read */
  start: string | null;
}

export type Liveness = { kind: 'alive' } | { kind: 'dead'; reason: 'pid-gone' | 'pid-reused' } | { kind: 'unknown'; reason: 'other-host' };

let bootId: string | null | undefined;

function linuxBootId(): string | null {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = null;
    }
  }
  return bootId;
}

/**
 * The start-time token of `pid`, or null when the process does not exist (a zombie —
 * killed but not yet reaped — counts as not existing) or it cannot be read.
 */
export function processStartTime(pid: number): string | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  let stat: string | null = null;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    if (process.platform === 'linux') return null; // no such process
  }
  if (stat !== null) {
    // the command name (field 2) is in parentheses and may contain spaces or ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    const ticks = fields[19]; // field 22 of the line: fields[0] is field 3
    return ticks ? `${linuxBootId() ?? 'boot'}:${ticks}` : null;
  }
  try {
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out || null;
  } catch {
    return null;
  }
}

let self: ProcessIdentity | undefined;

/** This process's identity (computed once). */
export function currentProcess(): ProcessIdentity {
  self ??= { host: hostname(), pid: process.pid, start: processStartTime(process.pid) };
  return self;
}

/** True when a process with this pid exists (signal 0; EPERM means it exists but is not ours). */
export function pidExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the recorded process is still running. A pid that exists but started at a
 * different time has been reused by another program: dead. A process on another host
 * cannot be checked: unknown (callers fall back to file ages).
 */
export function livenessOf(id: ProcessIdentity): Liveness {
  if (id.host !== currentProcess().host) return { kind: 'unknown', reason: 'other-host' };
  if (!pidExists(id.pid)) return { kind: 'dead', reason: 'pid-gone' };
  const now = processStartTime(id.pid);
  // null while the pid exists: a zombie, or no way to read start times here at all
  if (now === null) return currentProcess().start !== null ? { kind: 'dead', reason: 'pid-gone' } : { kind: 'alive' };
  if (id.start === null) return { kind: 'alive' };
  return now === id.start ? { kind: 'alive' } : { kind: 'dead', reason: 'pid-reused' };
}
