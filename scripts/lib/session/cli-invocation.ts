// cli-invocation — what the session runner hands the agent CLI: its arguments, its
// first stdin and its environment additions (from the CLI's adapter), kept under the
// OS limits on a command line (lib/clis/limits.ts).
//
// Coven's own text (systemText, e.g. the dispatch catalog) is the adapter's to place:
// Claude Code takes it as --append-system-prompt while it is small and at the head of the
// first user message on stdin otherwise. Anything else that is too big (an entry of the
// agent's <cli>_args, an argument after --, the environment) cannot be moved without
// changing its meaning: the session is not started, and its outcome says what was too big.
// Pure: inputs are the session options, the adapter and the environment; no process is started.

import type { CliAdapter, CliCommand, CliRun } from '../clis/adapter.js';
import { bytesOf, MAX_ARG_BYTES, MAX_COMMAND_LINE_BYTES } from '../clis/limits.js';
import type { SessionOptions } from './session-contract.js';

export { MAX_ARG_BYTES, MAX_COMMAND_LINE_BYTES } from '../clis/limits.js';

export type CliInvocation = ({ kind: 'ok' } & CliCommand) | { kind: 'too-big'; what: string; bytes: number; maxBytes: number };

/** The run the adapter is asked for. */
export function cliRunOf(opts: SessionOptions): CliRun {
  return {
    cwd: opts.cwd,
    prompt: opts.prompt,
    args: [...(opts.cliArgs ?? []), ...(opts.extraArgs ?? [])],
    ...(opts.systemText !== undefined ? { systemText: opts.systemText } : {}),
    ...(opts.resume !== undefined ? { resume: opts.resume } : {}),
    ...(opts.permissionMode !== undefined ? { permissionMode: opts.permissionMode } : {}),
  };
}

/** What the CLI is started with, or what is too big to start it at all. */
export function cliInvocation(opts: SessionOptions, adapter: CliAdapter, command: string, env: NodeJS.ProcessEnv): CliInvocation {
  const named: [string, readonly string[] | undefined][] = [
    [`an entry of the agent's ${adapter.argsKey}`, opts.cliArgs],
    ['an argument given after --', opts.extraArgs],
    ['the session id to resume', opts.resume === undefined ? undefined : [opts.resume]],
    ['the --permission-mode value', opts.permissionMode === undefined ? undefined : [opts.permissionMode]],
  ];
  for (const [what, values] of named) {
    for (const v of values ?? []) {
      if (bytesOf(v) > MAX_ARG_BYTES) return { kind: 'too-big', what: `${what} (${JSON.stringify(v.slice(0, 40))}…)`, bytes: bytesOf(v), maxBytes: MAX_ARG_BYTES };
    }
  }
  const cmd = adapter.command(cliRunOf(opts));
  const all = { ...env, ...cmd.env };
  for (const [k, v] of Object.entries(all)) {
    if (v !== undefined && bytesOf(`${k}=${v}`) > MAX_ARG_BYTES) return { kind: 'too-big', what: `the environment variable ${k}`, bytes: bytesOf(`${k}=${v}`), maxBytes: MAX_ARG_BYTES };
  }
  for (const a of cmd.args) {
    if (bytesOf(a) > MAX_ARG_BYTES) return { kind: 'too-big', what: `an argument of the ${adapter.label} command line (${JSON.stringify(a.slice(0, 40))}…)`, bytes: bytesOf(a), maxBytes: MAX_ARG_BYTES };
  }
  const total = commandLineBytes(command, cmd.args, all);
  if (total > MAX_COMMAND_LINE_BYTES) return { kind: 'too-big', what: 'the command line and the environment together', bytes: total, maxBytes: MAX_COMMAND_LINE_BYTES };
  return { kind: 'ok', ...cmd };
}

/** What exec counts: each string with its NUL, and a pointer for each. */
export function commandLineBytes(command: string, args: readonly string[], env: NodeJS.ProcessEnv): number {
  let n = bytesOf(command) + 1 + 8;
  for (const a of args) n += bytesOf(a) + 1 + 8;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) n += bytesOf(`${k}=${v}`) + 1 + 8;
  return n;
}
