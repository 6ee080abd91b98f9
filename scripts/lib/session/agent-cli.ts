// agent-cli — is the agent CLI there? Checked before a worker creates anything, so a
// missing `claude` is one clear message instead of a worktree and a failed dispatch.
//
// Inputs: the environment (COVEN_CLAUDE, else `claude` on PATH). Outputs: the path of
// the executable, or the same message the session runner gives for a missing CLI.

import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { agentCommand, cliNotFoundMessage } from './session-contract.js';

export type AgentCli = { kind: 'found'; path: string } | { kind: 'cli-not-found'; command: string; message: string };

export function locateAgentCli(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): AgentCli {
  const command = agentCommand(env);
  if (command.includes('/')) {
    const path = isAbsolute(command) ? command : resolve(cwd, command);
    const state = executable(path);
    return state === 'yes' ? { kind: 'found', path } : { kind: 'cli-not-found', command, message: cliNotFoundMessage(command, state === 'no' ? 'EACCES' : 'ENOENT') };
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, command);
    if (executable(path) === 'yes') return { kind: 'found', path };
  }
  return { kind: 'cli-not-found', command, message: cliNotFoundMessage(command) };
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
