// invocation-end — how every fake CLI ends: its invocation record appended to its log
// (FAKE_<CLI>_LOG, one JSON line), then an exit once stdout is flushed (at most 0.5 s
// later). With a signal, the fake dies of that signal as the real CLI would.

import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** Appends `record` to the file named by env `logVar` (when set); a failure is said on stderr. */
export function logInvocation(cli: string, logVar: string, record: unknown): void {
  const log = process.env[logVar];
  if (!log) return;
  try {
    mkdirSync(dirname(log), { recursive: true });
    appendFileSync(log, `${JSON.stringify(record)}\n`);
  } catch (err) {
    process.stderr.write(`fake ${cli}: cannot write ${logVar}: ${String(err)}\n`);
  }
}

/** Exits with `code` once stdout is flushed, or dies of `signal` (its handlers removed). */
export function exitFlushed(code: number, signal?: NodeJS.Signals): void {
  const exit = (): void => {
    if (!signal) process.exit(code);
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  };
  setTimeout(exit, 500).unref();
  process.stdout.write('', () => exit());
}
