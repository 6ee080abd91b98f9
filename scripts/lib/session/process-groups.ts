// process-groups — the process groups of one agent session: the CLI's own (it runs
// detached) and those of its descendants (the real CLI runs each Bash command in a
// session of its own, out of reach of a group signal), noted from `ps` when the session
// is stopped and when its last result arrives, and signalled together. A process that
// left the session's tree (a daemon: double fork, setsid) is still found on Linux by the
// mark the session puts in its environment (SESSION_MARK), which it inherits: whatever
// the agent left running ends with the session and never races the land.

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The environment variable whose value marks every process one session started. */
export const SESSION_MARK = 'COVEN_SESSION_MARK';

export class ProcessGroups {
  private readonly groups: Set<number>;
  /** stopped with SIGSTOP until resume() */
  paused = false;

  constructor(
    private readonly root: number | undefined,
    /** the session's SESSION_MARK value (null: none) */
    private readonly mark: string | null = null,
  ) {
    this.groups = new Set(root === undefined ? [] : [root]);
  }

  /** Adds the groups of the processes that carry the session's mark (those that left its tree too). */
  noteMarked(): void {
    if (this.mark !== null) for (const g of markedGroups(this.mark)) this.groups.add(g);
  }

  /** Adds the groups of the root's descendants seen now. */
  noteDescendants(): void {
    if (this.root !== undefined) for (const g of descendantGroups(this.root)) this.groups.add(g);
  }

  signal(signal: NodeJS.Signals): void {
    for (const g of this.groups) {
      try {
        process.kill(-g, signal);
      } catch {
        // the group is already gone
      }
    }
  }

  /** Sends `signal`; a stopped process acts on SIGTERM only once it runs again. */
  kill(signal: NodeJS.Signals): void {
    this.signal(signal);
    if (this.paused && signal !== 'SIGKILL') this.resume();
  }

  pause(): void {
    this.paused = true;
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.paused = false;
    this.signal('SIGCONT');
  }

  /** Something of the groups still runs (a zombie, which holds no pipe and no file, does not count). */
  alive(): boolean {
    for (const g of this.groups) {
      try {
        process.kill(-g, 0);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EPERM') return true;
        continue;
      }
      if (livingMember(g)) return true;
    }
    return false;
  }

  /** Waits until nothing of the groups is left, ending stragglers (TERM, then KILL after `graceMs`). */
  async end(graceMs: number): Promise<void> {
    if (!this.alive()) return;
    this.kill('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (this.alive() && Date.now() < deadline) await sleep(25);
    if (!this.alive()) return;
    this.kill('SIGKILL');
    const last = Date.now() + 1000;
    while (this.alive() && Date.now() < last) await sleep(25);
  }
}

/**
 * The process groups of every descendant of `root` (other than root's own group and
 * ours), from `ps` (Linux, macOS). Empty when ps is unavailable.
 */
export function descendantGroups(root: number): number[] {
  const ps = spawnSync('ps', ['-A', '-o', 'pid=,ppid=,pgid='], { encoding: 'utf8' });
  if (ps.status !== 0 || typeof ps.stdout !== 'string') return [];
  const children = new Map<number, { pid: number; pgid: number }[]>();
  let ownGroup = -1;
  for (const line of ps.stdout.split('\n')) {
    const [pid, ppid, group] = line.trim().split(/\s+/).map(Number);
    if (pid === undefined || ppid === undefined || group === undefined || Number.isNaN(group)) continue;
    if (pid === process.pid) ownGroup = group;
    const list = children.get(ppid) ?? [];
    list.push({ pid, pgid: group });
    children.set(ppid, list);
  }
  const found = new Set<number>();
  const todo = [root];
  const seen = new Set<number>(todo);
  while (todo.length > 0) {
    for (const c of children.get(todo.pop()!) ?? []) {
      if (seen.has(c.pid)) continue;
      seen.add(c.pid);
      todo.push(c.pid);
      if (c.pgid > 1 && c.pgid !== root && c.pgid !== ownGroup) found.add(c.pgid);
    }
  }
  return [...found];
}

/**
 * The process groups of every process whose environment holds `SESSION_MARK=<mark>`,
 * other than ours (Linux: /proc; empty elsewhere). The kernel writes these files; a
 * process that is gone or not ours to read is skipped.
 */
export function markedGroups(mark: string): number[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  const needle = Buffer.from(`${SESSION_MARK}=${mark}\0`);
  const ownGroup = groupOf(String(process.pid));
  const found = new Set<number>();
  for (const pid of pids) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`).includes(needle)) continue;
      const group = groupOf(pid);
      if (group !== null && group > 1 && group !== ownGroup) found.add(group);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return [...found];
}

/**
 * Whether the group has a member that is not a zombie (Linux: /proc; elsewhere every
 * group a signal reaches counts). A CLI can leave a zombie child whose parent was
 * already gone: it waits for init to reap it, which some machines do late (Codex left
 * one `git` each session, and the session waited a second for nothing).
 */
export function livingMember(group: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return true;
  }
  for (const pid of pids) {
    const stat = statOf(pid);
    if (stat !== null && stat.group === group && stat.state !== 'Z' && stat.state !== 'X') return true;
  }
  return false;
}

/** The state letter and the process group from /proc/<pid>/stat (after the name in parentheses, which may hold spaces). */
function statOf(pid: string): { state: string; group: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const group = Number(fields[2]);
    return Number.isInteger(group) ? { state: fields[0] ?? '', group } : null;
  } catch {
    return null;
  }
}

/** The process group from /proc/<pid>/stat (the fifth field; the name in parentheses may hold spaces). */
function groupOf(pid: string): number | null {
  return statOf(pid)?.group ?? null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
