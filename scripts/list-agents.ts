#!/usr/bin/env node
// list-agents — coven agents: the agents of this worktree; its contract is the usage text below.

const help = `usage: coven agents [--json] [--dir <worktree>]

Lists the agents in .coven/agents/*.md of the worktree you are in, with their
arguments and the agent CLI(s) each runs on (\`cli: claude → codex\`: codex when the
vendor of claude refuses), what those CLIs cannot do, then every invalid agent file
with the reason.

  --json          print {"agents": [...], "invalid": [...], "warnings": [...]}
  --dir <path>    use the worktree containing <path> instead of the current one

reads: .coven/agents/*.md of the worktree
prints: the catalog (as dispatch sees it), then invalid files and warnings
exit: 0 all agent files valid · 1 at least one invalid file · 2 not in a git
      worktree · 64 bad usage
`;

import { parseCommandLine } from './lib/ui/command-line.js';
import { resolve } from 'node:path';
import { findRepo } from './lib/git/runner.js';
import { formatAgentCatalog, formatFileProblem, loadRegistry, type Registry } from './lib/agents/registry.js';
import { describeClis } from './lib/agents/agent-clis.js';
import { CLI_NAMES } from './lib/clis/adapter.js';
import { adapterFor } from './lib/clis/index.js';
import { runAsEntry } from './lib/ui/entry.js';
import { formatProblem } from './lib/ui/problem.js';

export type AgentsLookup = { kind: 'registry'; registry: Registry } | { kind: 'not-a-repo'; dir: string };

/** Loads the registry of the worktree containing `dir`. */
export async function agentsOf(dir: string): Promise<AgentsLookup> {
  const repo = await findRepo(dir);
  if (repo.kind !== 'repo') return { kind: 'not-a-repo', dir };
  return { kind: 'registry', registry: await loadRegistry(repo.paths.toplevel) };
}

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine(argv, { command: 'coven agents', usage: help, boolean: ['json'], string: ['dir'] });
  if (cl.kind === 'exit') return cl.code;
  const args = cl.args;
  const dir = resolve(typeof args.dir === 'string' ? args.dir : process.cwd());
  const found = await agentsOf(dir);
  if (found.kind === 'not-a-repo') {
    process.stderr.write(
      formatProblem({ what: `${found.dir} is not inside a git worktree, so there are no agents to list.`, next: ['cd into your repository (or pass --dir <worktree>) and run: coven agents'] }) + '\n',
    );
    return 2;
  }
  const { registry } = found;
  if (args.json) {
    process.stdout.write(JSON.stringify({ agents: registry.agents, invalid: registry.invalid, warnings: registry.warnings }, null, 2) + '\n');
  } else {
    process.stdout.write(formatListing(registry));
  }
  if (registry.invalid.length === 0) return 0;
  if (!args.json) {
    const files = new Set(registry.invalid.map((p) => p.file)).size;
    process.stderr.write(
      formatProblem({
        what: `${files} agent file${files === 1 ? ' is' : 's are'} invalid; dispatch will not offer ${files === 1 ? 'it' : 'them'}.`,
        kept: 'Nothing was changed; the valid agents above still work.',
        next: ['fix the file(s) listed above, then check again: coven agents'],
      }) + '\n',
    );
  }
  return 1;
}

/** The human listing: catalog (with each agent's CLIs), then invalid files, then warnings. */
export function formatListing(registry: Registry): string {
  const out: string[] = [`agents in ${registry.dir} (${registry.agents.length}):`];
  for (const agent of registry.agents) out.push(formatAgentCatalog([agent]), `    cli: ${describeClis(agent.clis)}`);
  const limits = limitsOfClis(registry);
  if (limits.length > 0) out.push('', 'what the CLIs in use cannot do (docs/agent-clis.md):', ...limits.map((l) => `  ${l}`));
  if (registry.invalid.length > 0) {
    out.push('', `invalid agent files (${new Set(registry.invalid.map((p) => p.file)).size}):`);
    for (const p of registry.invalid) out.push(`  ${formatFileProblem(p)}`);
  }
  if (registry.warnings.length > 0) {
    out.push('', 'warnings:');
    for (const w of registry.warnings) out.push(`  ${w}`);
  }
  return out.join('\n') + '\n';
}

/** `codex: no steering: …`, one line per limit of each CLI an agent uses (in CLI_NAMES order). */
function limitsOfClis(registry: Registry): string[] {
  const used = new Set(registry.agents.flatMap((a) => a.clis));
  return CLI_NAMES.filter((cli) => used.has(cli)).flatMap((cli) => {
    const a = adapterFor(cli);
    return a.kind === 'adapter' ? a.adapter.limits.map((l) => `${cli}: ${l}`) : [`${cli}: ${a.message}`];
  });
}

runAsEntry(import.meta.url, main);
