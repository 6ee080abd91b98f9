// cli-invocation — what the session runner hands the agent CLI: its arguments and the
// first message on stdin, kept under the OS limits on a command line.
//
// Linux refuses to start a program (spawn E2BIG) when one argument is over 128 KiB
// (MAX_ARG_STRLEN) or the arguments and the environment together are over ARG_MAX
// (commonly 2 MiB, less with a small stack limit). So no argument coven passes is over
// MAX_ARG_BYTES, and the whole is kept under MAX_COMMAND_LINE_BYTES:
//   - coven's own text (appendSystemPrompt, e.g. the dispatch catalog) goes as
//     --append-system-prompt while it is small, and otherwise at the head of the first
//     user message on stdin (stream-json input has no size limit);
//   - anything else that is too big (an agent's claude_args entry, an argument after
//     --, the environment) cannot be moved without changing its meaning: the session
//     is not started, and its outcome says what was too big.
// Pure: inputs are the session options and the environment; no process is started.

import { sessionArgs, type SessionOptions } from './session-contract.js';

/** one argument's limit: under Linux's 128 KiB per argument, with room to spare */
export const MAX_ARG_BYTES = 100 * 1024;
/** the arguments and environment together: half of the common 2 MiB ARG_MAX */
export const MAX_COMMAND_LINE_BYTES = 1024 * 1024;

export type CliInvocation =
  | { kind: 'ok'; args: string[]; prompt: string; systemPromptOnStdin: boolean }
  | { kind: 'too-big'; what: string; bytes: number; maxBytes: number };

const bytesOf = (s: string): number => Buffer.byteLength(s, 'utf8');

/** What the CLI is started with, or what is too big to start it at all. */
export function cliInvocation(opts: SessionOptions, command: string, env: NodeJS.ProcessEnv): CliInvocation {
  const system = opts.appendSystemPrompt;
  const onStdin = system !== undefined && bytesOf(system) > MAX_ARG_BYTES;
  const args = sessionArgs(onStdin ? { ...opts, appendSystemPrompt: undefined } : opts);
  const prompt = onStdin ? `${system}\n\n---\n\n${opts.prompt}` : opts.prompt;

  const named: [string, readonly string[] | undefined][] = [
    ["an entry of the agent's claude_args", opts.claudeArgs],
    ['an argument given after --', opts.extraArgs],
    ['the --resume session id', opts.resume === undefined ? undefined : [opts.resume]],
    ['the --permission-mode value', opts.permissionMode === undefined ? undefined : [opts.permissionMode]],
  ];
  for (const [what, values] of named) {
    for (const v of values ?? []) {
      if (bytesOf(v) > MAX_ARG_BYTES) return { kind: 'too-big', what: `${what} (${JSON.stringify(v.slice(0, 40))}…)`, bytes: bytesOf(v), maxBytes: MAX_ARG_BYTES };
    }
  }
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && bytesOf(`${k}=${v}`) > MAX_ARG_BYTES) return { kind: 'too-big', what: `the environment variable ${k}`, bytes: bytesOf(`${k}=${v}`), maxBytes: MAX_ARG_BYTES };
  }
  const total = commandLineBytes(command, args, env);
  if (total > MAX_COMMAND_LINE_BYTES) return { kind: 'too-big', what: 'the command line and the environment together', bytes: total, maxBytes: MAX_COMMAND_LINE_BYTES };
  return { kind: 'ok', args, prompt, systemPromptOnStdin: onStdin };
}

/** What exec counts: each string with its NUL, and a pointer for each. */
export function commandLineBytes(command: string, args: readonly string[], env: NodeJS.ProcessEnv): number {
  let n = bytesOf(command) + 1 + 8;
  for (const a of args) n += bytesOf(a) + 1 + 8;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) n += bytesOf(`${k}=${v}`) + 1 + 8;
  return n;
}
