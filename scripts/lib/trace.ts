// trace — an opt-in timing trace for benchmarks and for finding where a worker's time
// goes. Off unless COVEN_TRACE names a file; then every traced event appends one JSON
// line to it:  {"t": <ms since the epoch, fractional>, "pid": <process>, "event": …, …}
// Several processes may share one file (each line is one O_APPEND write).
//
//   env:    COVEN_TRACE   the file to append to (unset or empty: no trace, no cost)
//   events: worker  {worker, process_start}        the worker has its worktree and state
//           phase   {worker, phase}                 every phase change of a worker
//           lock    {lock: dispatch|land, waited_ms} a lock was taken after waiting this long
//           session {cli_ms, ms}                    an agent CLI session ended: the CLI
//                                                   process's lifetime, and spawn → outcome
//           landed  {worker, commits}               commits reached the main branch
// A trace never stops coven: a write that fails is dropped.

import { appendFileSync } from 'node:fs';

/** Now, in ms since the epoch with sub-ms precision (comparable across processes). */
export function traceNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Appends one event to $COVEN_TRACE, if set. */
export function trace(event: string, fields: Record<string, unknown> = {}): void {
  const file = process.env.COVEN_TRACE;
  if (!file) return;
  try {
    appendFileSync(file, `${JSON.stringify({ t: traceNow(), pid: process.pid, event, ...fields })}\n`);
  } catch {
    // the trace is for measuring; it must never change what coven does
  }
}
