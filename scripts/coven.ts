#!/usr/bin/env node
// coven — one entry point for every subcommand: the command table. bin/coven and
// bin/coven-worker (plain files, runnable from a clone or an install) load this file.
//
//   args:   coven <command> [options]   (`coven <command> --help` for each)
//           coven help <command>        the same as `coven <command> --help`
//   exit:   whatever the command returns; 64 for an unknown command
// Commands are loaded lazily so that `coven land` starts as fast as possible.

import { packageText } from './lib/files/package-file.js';
import { runAsEntry } from './lib/ui/entry.js';

// bin/run-built.js exits through it once a command returns
export { exitWhenWritten } from './lib/ui/entry.js';

interface Command {
  summary: string;
  load: () => Promise<{ main: (argv: string[]) => Promise<number> }>;
}

const commands: Record<string, Command> = {
  demo: { summary: 'watch coven work on a tiny project, in under a minute (a simulation; --real for claude)', load: () => import('../demo/demo.js') },
  init: { summary: 'set coven up in this repository: agents, workflow, issue folders, hooks', load: () => import('./init.js') },
  agents: { summary: 'list the agents in .coven/agents and any invalid agent files', load: () => import('./list-agents.js') },
  issues: { summary: 'list issues/*.md and review/*.md: path, state, priority, title', load: () => import('./list-issues.js') },
  spawn: { summary: 'create a worker branch and worktree from the main branch', load: () => import('./spawn-worktree.js') },
  dispatch: { summary: 'ask the dispatch agent what to do next (prints the decision as JSON)', load: () => import('./dispatch.js') },
  'run-agent': { summary: 'run the agent a decision file names, one session; write its session record', load: () => import('./run-agent.js') },
  resolve: { summary: 'resolve the conflict a land left open by resuming the recorded session', load: () => import('./resolve-conflict.js') },
  wait: { summary: "sleep until the main branch moves away from a decision's tip", load: () => import('./wait-for-main.js') },
  worker: { summary: 'start a worker: dispatch, run the chosen agent, land; sleep until main moves', load: () => import('./worker-loop.js') },
  land: { summary: "put this worktree's commits on the main branch", load: () => import('./land-worktree.js') },
  status: { summary: 'show what every worker is doing, the dispatch lock and dead workers', load: () => import('./status.js') },
  gc: { summary: 'clean up after dead workers (keeps unlanded work unless --force saves it)', load: () => import('./gc.js') },
  hooks: { summary: 'install, remove or show the git hooks that wake sleeping workers', load: () => import('./hooks.js') },
};

const usage = `coven — several coding agents on one git repository

usage: coven <command> [options]
       coven help <command>   (the same as coven <command> --help)
       coven --version

commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`)
  .join('\n')}

Every command exits 64 on a usage error and 2 when it is not run inside a git work
tree. Run \`coven <command> --help\` for the options and exit codes of one command.
`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(usage);
    return 0;
  }
  if (name === 'help') return rest.length === 0 ? main([]) : helpFor(rest);
  if (name === '--version' || name === '-v') {
    const pkg = JSON.parse(await packageText('package.json')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) return unknownCommand(name);
  const mod = await command.load();
  return mod.main(rest);
}

/** `coven help <command>`: that command's own --help. */
async function helpFor(rest: string[]): Promise<number> {
  const [name, ...extra] = rest;
  if (extra.length > 0) {
    process.stderr.write(`coven help: unexpected argument '${extra[0]}'\ntry: coven help <command>   (coven --help lists the commands)\n`);
    return 64;
  }
  const command = commands[name ?? ''];
  if (!command) return unknownCommand(name ?? '');
  return (await command.load()).main(['--help']);
}

function unknownCommand(name: string): number {
  process.stderr.write(`coven: unknown command '${name}'\ntry: coven --help   (it lists the commands)\n`);
  return 64;
}

runAsEntry(import.meta.url, main);
