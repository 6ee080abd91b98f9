// trace — an opt-in timing trace for benchmarks and for finding where a worker's time
// goes. Off unless COVEN_TRACE names a file; then every traced event appends one JSON
// line to it:  {"t": <ms since the epoch, fractional>, "pid": <process>, "event": …,
// "cpu_ms": <this process's CPU time so far>, "children_cpu_ms": <CPU time of its
// finished child processes, git and the agent CLI included; Linux only>, …}
// CPU times let a benchmark tell coven's work from waiting on a busy machine.
// Several processes may share one file (each line is one O_APPEND write).
//
//   env:    COVEN_TRACE   the file to append to (unset or empty: no trace, no cost)
//   events: worker  {worker, process_start}        the worker has its worktree and state
//           phase   {worker, phase}                 every phase change of a worker
//           lock    {lock: dispatch|land, waited_ms} a lock was taken after waiting this long
//           session {cli_ms, ms, cli_cpu_ms}        an agent CLI session ended: the CLI
//                                                   process's lifetime, spawn → outcome, and
//                                                   the CPU time of the processes that ended
//                                                   meanwhile (the CLI and its tools)
//           landed  {worker, commits}               commits reached the main branch
//           stopped {worker}                        the worker is done (about to exit)
// A trace never stops coven: a write that fails is dropped.

import { appendFileSync, readFileSync } from 'node:fs';

/** Now, in ms since the epoch with sub-ms precision (comparable across processes). */
export function traceNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Appends one event to $COVEN_TRACE, if set. */
export function trace(event: string, fields: Record<string, unknown> = {}): void {
  const file = process.env.COVEN_TRACE;
  if (!file) return;
  try {
    const t = traceNow();
    const own = process.cpuUsage();
    const line = { t, pid: process.pid, event, cpu_ms: (own.user + own.system) / 1000, children_cpu_ms: childrenCpuMs(), ...fields };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  } catch {
    // the trace is for measuring; it must never change what coven does
  }
}

/** user + system time of the finished (waited-for) children, from /proc/self/stat; undefined elsewhere. */
export function childrenCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): cutime and cstime are fields 16 and 17, in clock ticks (100 per second on Linux)
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return undefined;
  }
}
