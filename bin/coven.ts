#!/usr/bin/env node
// coven — one entry point for every subcommand.
//
//   args:   coven <command> [options]   (`coven <command> --help` for each)
//   exit:   whatever the command returns; 64 for an unknown command
// Commands are loaded lazily so that `coven land` starts as fast as possible.

interface Command {
  summary: string;
  load: () => Promise<{ main: (argv: string[]) => Promise<number> }>;
}

const commands: Record<string, Command> = {
  demo: { summary: 'watch coven work on a tiny project, in under a minute (a simulation; --real for claude)', load: () => import('../demo/demo.js') },
  init: { summary: 'set coven up in this repository: agents, workflow, issue folders, hooks', load: () => import('../scripts/init.js') },
  agents: { summary: 'list the agents in .coven/agents and any invalid agent files', load: () => import('../scripts/list-agents.js') },
  issues: { summary: 'list issues/*.md and review/*.md: path, state, priority, title', load: () => import('../scripts/list-issues.js') },
  spawn: { summary: 'create a worker branch and worktree from the main branch', load: () => import('../scripts/spawn-worktree.js') },
  dispatch: { summary: 'ask the dispatch agent what to do next (prints the decision as JSON)', load: () => import('../scripts/dispatch.js') },
  worker: { summary: 'start a worker: dispatch, run the chosen agent, land; sleep until main moves', load: () => import('../scripts/worker-loop.js') },
  land: { summary: "put this worktree's commits on the main branch", load: () => import('../scripts/land-worktree.js') },
  status: { summary: 'show what every worker is doing, the dispatch lock and dead workers', load: () => import('../scripts/status.js') },
  gc: { summary: 'clean up after dead workers (keeps unlanded work unless --force saves it)', load: () => import('../scripts/gc.js') },
  hooks: { summary: 'install, remove or show the git hooks that wake sleeping workers', load: () => import('../scripts/hooks.js') },
};

const usage = `coven — several coding agents on one git repository

usage: coven <command> [options]

commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`)
  .join('\n')}

Run \`coven <command> --help\` for the options of one command.
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`coven: unknown command '${name}'.\n\n${usage}`);
    return 64;
  }
  const mod = await command.load();
  return mod.main(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`coven: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
