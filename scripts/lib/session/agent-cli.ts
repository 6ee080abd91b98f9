// agent-cli — is the agent CLI there? Checked before a worker creates anything, so a
// missing `claude` (or `codex` …) is one clear message instead of a worktree and a
// failed dispatch.
//
// Inputs: the environment (the CLI's override, COVEN_CLAUDE …, else its command on PATH)
// and the CLI's name. Outputs: the path of the executable, or the same message the
// session runner gives for a missing CLI.

import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { CliName } from '../clis/adapter.js';
import { adapterFor } from '../clis/index.js';
import { agentCommand, cliNotFoundMessage } from './session-contract.js';

export type AgentCli = { kind: 'found'; path: string } | { kind: 'cli-not-found'; command: string; message: string };

export function locateAgentCli(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), cli: CliName = 'claude'): AgentCli {
  const a = adapterFor(cli);
  if (a.kind !== 'adapter') return { kind: 'cli-not-found', command: cli, message: `${a.message}.` };
  const command = agentCommand(env, cli);
  if (command.includes('/')) {
    const path = isAbsolute(command) ? command : resolve(cwd, command);
    const state = executable(path);
    return state === 'yes' ? { kind: 'found', path } : { kind: 'cli-not-found', command, message: cliNotFoundMessage(command, state === 'no' ? 'EACCES' : 'ENOENT', cli) };
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, command);
    if (executable(path) === 'yes') return { kind: 'found', path };
  }
  return { kind: 'cli-not-found', command, message: cliNotFoundMessage(command, 'ENOENT', cli) };
}

/** yes: an executable file · no: a file that cannot be run · missing: nothing (or a folder) there */
function executable(path: string): 'yes' | 'no' | 'missing' {
  try {
    if (!statSync(path).isFile()) return 'missing';
  } catch {
    return 'missing';
  }
  try {
    accessSync(path, constants.X_OK);
    return 'yes';
  } catch {
    return 'no';
  }
}
