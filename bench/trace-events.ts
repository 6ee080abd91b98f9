// trace-events — reads a COVEN_TRACE file (scripts/lib/trace.ts) and cuts it into the
// windows the benchmarks report: per worker, the time between phase changes, and the
// sessions and lock waits that fall inside each window. Also the small statistics the
// benchmarks share (median, quantiles). Used by bench/*.bench.ts; not a benchmark.

import { existsSync, readFileSync } from 'node:fs';

export interface TraceEvent {
  t: number;
  pid: number;
  event: string;
  worker?: string;
  phase?: string;
  lock?: 'dispatch' | 'land';
  waited_ms?: number;
  cli_ms?: number;
  ms?: number;
  commits?: number;
  process_start?: number;
  cpu_ms?: number;
  children_cpu_ms?: number;
  cli_cpu_ms?: number;
  /** claim events: taken, lost, stale-view, … (lib/agents/claimed-dispatch.ts) */
  result?: string;
}

/** CPU time of the event's process and its finished children so far (ms). */
export function cpuOf(e: TraceEvent): number {
  return (e.cpu_ms ?? 0) + (e.children_cpu_ms ?? 0);
}

export function readTrace(file: string): TraceEvent[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TraceEvent)
    .sort((a, b) => a.t - b.t);
}

/** One stretch of a worker's time in one phase, with what happened inside it. */
export interface PhaseWindow {
  worker: string;
  phase: string;
  from: number;
  to: number;
  /** agent CLI processes that ended inside the window: their lifetimes (spawn → exit) */
  cliMs: number;
  /** spawn → outcome of the same sessions (cliMs + the runner's own wind-down) */
  sessionMs: number;
  /** lock waits that ended inside the window */
  lockWaitMs: { dispatch: number; land: number };
  /** CPU time spent in the window by the worker and every process it waited for (NaN when not closed by an event) */
  cpuMs: number;
  /** of which the agent CLI sessions that ended in the window (the CLI and its tools) */
  cliCpuMs: number;
  /** of which the time until the dispatch lock was taken (the wait starts as the window opens) */
  lockWaitCpuMs: number;
}

/**
 * Every worker's phase windows, in order. A window ends at the worker's next phase
 * change, at its `stopped` event, or at `end(worker)` (e.g. the process exit).
 */
export function phaseWindows(events: TraceEvent[], end: (worker: string) => number | undefined = () => undefined): PhaseWindow[] {
  const workerOfPid = new Map<number, string>();
  for (const e of events) if (e.event === 'worker' && e.worker) workerOfPid.set(e.pid, e.worker);
  const byWorker = new Map<string, TraceEvent[]>();
  for (const e of events) {
    const w = e.worker ?? workerOfPid.get(e.pid);
    if (!w) continue;
    if (!byWorker.has(w)) byWorker.set(w, []);
    byWorker.get(w)!.push(e);
  }
  const windows: PhaseWindow[] = [];
  for (const [worker, evs] of byWorker) {
    let current: PhaseWindow | null = null;
    let openedCpu = 0;
    const close = (to: number, cpu: number) => {
      if (current) {
        current.to = to;
        current.cpuMs = cpu - openedCpu;
        windows.push(current);
        current = null;
      }
    };
    for (const e of evs) {
      if (e.event === 'phase' && e.phase) {
        close(e.t, cpuOf(e));
        current = { worker, phase: e.phase, from: e.t, to: e.t, cliMs: 0, sessionMs: 0, lockWaitMs: { dispatch: 0, land: 0 }, cpuMs: NaN, cliCpuMs: 0, lockWaitCpuMs: 0 };
        openedCpu = cpuOf(e);
      } else if (e.event === 'stopped') {
        close(e.t, cpuOf(e));
      } else if (current && e.event === 'session') {
        current.cliMs += e.cli_ms ?? 0;
        current.sessionMs += e.ms ?? 0;
        current.cliCpuMs += e.cli_cpu_ms ?? 0;
      } else if (current && e.event === 'lock' && e.lock) {
        current.lockWaitMs[e.lock] += e.waited_ms ?? 0;
        if (e.lock === 'dispatch') current.lockWaitCpuMs += cpuOf(e) - openedCpu;
      }
    }
    const last = end(worker);
    if (current && last !== undefined) close(last, NaN);
  }
  return windows;
}

export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
