// chaos-watch (helper) — what the chaos driver (test/helpers/chaos.ts) watches while the
// workers run, for the checks no end state can prove:
//   - a lock file held by a dead worker: dispatch-lock.ts promises that a live waiter
//     breaks it at once, and that nothing else does (it may sit until the next waiter, or
//     `coven gc`). So: while a live worker is in the phase that waits for that lock, the
//     lock must be gone within BREAK_WITHIN_MS; once every worker has exited (before
//     gc), a lock may be held only by a worker the driver killed with kill -9.
//   - main's tip, sampled as the run goes: main must only ever move forward.
//
//   new ChaosWatch(repo, stateDir, started); watch.run(stop)   samples every 100 ms until stop()
//   watch.leftBeforeGc(killed) → problems   watch.checkMainForward() → problems

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readLockHolder } from '../../scripts/lib/locks/dispatch-lock.js';
import { livenessOf } from '../../scripts/lib/locks/process-identity.js';
import { readWorkerStates, type Phase } from '../../scripts/lib/worker/state.js';
import { run, sh } from './repo.js';

/** a dead holder's lock must be broken this soon once a live worker waits for it (the design says "at once") */
export const BREAK_WITHIN_MS = 30_000;

export interface DeadLock {
  lock: string;
  worker: string;
  pid: number;
  /** when the watch first saw the holder dead, ms into the run */
  seenAtMs: number;
  /** how long after that it was gone (a waiter broke it); null: still there when the workers had exited */
  brokenAfterMs: number | null;
}

/** The phase in which a live worker waits for (or holds) a lock of this name. */
function waitedForIn(lock: string): Phase | null {
  if (lock === 'dispatch') return 'dispatching';
  if (lock === 'land') return 'landing';
  if (lock.startsWith('agent-')) return 'running';
  return null;
}

interface Episode extends DeadLock {
  token: string;
  late: boolean;
}

export class ChaosWatch {
  private readonly episodes = new Map<string, Episode>();
  /** main's tips in the order seen, without repeats */
  readonly mainTips: string[] = [];
  readonly problems: string[] = [];

  constructor(
    private readonly repo: string,
    private readonly stateDir: string,
    private readonly started: number,
    private readonly breakWithinMs = BREAK_WITHIN_MS,
  ) {}

  get deadLocks(): DeadLock[] {
    return [...this.episodes.values()].map(({ lock, worker, pid, seenAtMs, brokenAfterMs }) => ({ lock, worker, pid, seenAtMs, brokenAfterMs }));
  }

  /** Samples until `stop()`; main's tip every 4th round (it costs a git process). */
  async run(stop: () => boolean): Promise<void> {
    for (let round = 0; !stop(); round++) {
      await this.sample();
      if (round % 4 === 0) await this.recordMainTip();
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.recordMainTip();
  }

  async recordMainTip(): Promise<void> {
    const tip = (await run('git', ['rev-parse', '--verify', '-q', 'refs/heads/main'], { cwd: this.repo })).stdout.trim();
    if (tip && this.mainTips[this.mainTips.length - 1] !== tip) this.mainTips.push(tip);
  }

  /** One look at the locks (and, for a dead holder's, at who waits for them). */
  async sample(): Promise<void> {
    const now = Date.now();
    const seen = new Set<string>();
    const dir = join(this.stateDir, 'locks');
    const names = existsSync(dir) ? readdirSync(dir).filter((n) => !n.includes('.break') && !n.startsWith('.')) : [];
    let states: Awaited<ReturnType<typeof readWorkerStates>> | null = null;
    for (const lock of names) {
      const read = await readLockHolder(join(dir, lock)).catch(() => null);
      if (read?.kind !== 'held' || livenessOf(read.holder).kind !== 'dead') continue;
      const token = read.holder.token;
      seen.add(token);
      let e = this.episodes.get(token);
      if (!e) {
        e = { lock, worker: read.holder.worker, pid: read.holder.pid, seenAtMs: now - this.started, brokenAfterMs: null, token, late: false };
        this.episodes.set(token, e);
      }
      if (e.late) continue;
      // since when a live worker has been waiting for it (the earliest of those waiting now)
      const phase = waitedForIn(lock);
      states ??= await readWorkerStates(this.stateDir);
      const since = states.flatMap((s) => (s.kind === 'worker' && s.liveness === 'alive' && s.state.phase === phase ? [Math.max(Date.parse(s.state.since), this.started + e.seenAtMs)] : []));
      const from = since.length > 0 ? Math.min(...since) : null;
      if (from !== null && now - from > this.breakWithinMs) {
        e.late = true;
        this.problems.push(`lock ${lock}, held by ${e.worker} (pid ${e.pid}, dead), was not broken ${this.breakWithinMs / 1000} s after a live worker began waiting for it`);
      }
    }
    for (const e of this.episodes.values()) if (e.brokenAfterMs === null && !seen.has(e.token)) e.brokenAfterMs = now - this.started - e.seenAtMs;
  }

  /**
   * Once every worker has exited, before `coven gc`: each lock file left must be held by
   * a worker that was killed (a stopped worker releases its locks; nothing may be alive).
   */
  async leftBeforeGc(killedPids: Set<number>): Promise<string[]> {
    await this.sample();
    const dir = join(this.stateDir, 'locks');
    if (!existsSync(dir)) return [];
    const problems: string[] = [];
    for (const lock of readdirSync(dir)) {
      const path = join(dir, lock);
      if (statSync(path).isDirectory() || lock.includes('.break') || lock.startsWith('.')) continue;
      const read = await readLockHolder(path);
      if (read.kind === 'free' || read.kind === 'corrupt') continue; // corrupt: a kill between create and write; gc's check judges it
      const h = read.holder;
      if (livenessOf(h).kind === 'alive') problems.push(`lock ${lock} is held by ${h.worker} (pid ${h.pid}), alive, after every worker exited`);
      else if (!killedPids.has(h.pid)) problems.push(`lock ${lock} is held by ${h.worker} (pid ${h.pid}, dead), which was stopped, not killed: a stopped worker must release its locks`);
    }
    return problems;
  }

  /** Main only moved forward: each tip seen, and each update in main's reflog, is an ancestor of the next. */
  async checkMainForward(): Promise<string[]> {
    const problems: string[] = [];
    const isAncestor = async (a: string, b: string) => (await run('git', ['merge-base', '--is-ancestor', a, b], { cwd: this.repo })).code === 0;
    for (let i = 1; i < this.mainTips.length; i++) {
      const [from, to] = [this.mainTips[i - 1]!, this.mainTips[i]!];
      if (!(await isAncestor(from, to))) problems.push(`main moved from ${from.slice(0, 10)} to ${to.slice(0, 10)}, which does not contain it (seen by the watch)`);
    }
    const final = await sh(this.repo, 'rev-parse', 'refs/heads/main');
    const last = this.mainTips[this.mainTips.length - 1];
    if (last && last !== final && !(await isAncestor(last, final))) problems.push(`main's last tip seen ${last.slice(0, 10)} is not an ancestor of the final main`);
    // the reflog: "<old> <new> <who> <when>\t<message>" per update
    const gitDir = await sh(this.repo, 'rev-parse', '--absolute-git-dir');
    const log = join(gitDir, 'logs', 'refs', 'heads', 'main');
    const lines = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
    if (lines.length === 0) problems.push("main has no reflog: the check that it only moved forward could not run");
    for (const line of lines) {
      const [from = '', to = ''] = line.split(' ');
      if (/^0+$/.test(from)) continue;
      if (!(await isAncestor(from, to))) problems.push(`main's reflog has a move from ${from.slice(0, 10)} to ${to.slice(0, 10)}, which does not contain it: ${line.split('\t')[1] ?? ''}`);
    }
    return problems;
  }
}
