// cli-check — before a worker creates anything: are the agent CLIs its agents name there?
//
// The dispatch agent must have one (else nothing can choose a job): when none of its
// CLIs is found, the worker does not start, and the message names each CLI with its
// env var and install command. Any other missing CLI is a warning: an agent whose first
// CLI is missing but a later one is there starts its jobs on that one; an agent none of
// whose CLIs is there fails its jobs until one is installed.
// Pure: the agents and a way to look a CLI up (lib/session/agent-cli.ts) in, words out.

import type { CliName } from '../clis/adapter.js';
import type { AgentDef } from '../agents/registry.js';
import { DISPATCH_AGENT } from '../agents/registry.js';
import type { AgentCli } from '../session/agent-cli.js';

export type CliCheck = { kind: 'ok'; warnings: string[] } | { kind: 'missing-for-dispatch'; messages: string[]; clis: CliName[] };

/** `agents`: the valid agents as main has them (none: dispatch on claude, as before agent files named CLIs). */
export function checkAgentClis(agents: readonly Pick<AgentDef, 'name' | 'clis'>[], locate: (cli: CliName) => AgentCli): CliCheck {
  const found = new Map<CliName, AgentCli>();
  const look = (cli: CliName): AgentCli => {
    const known = found.get(cli) ?? locate(cli);
    found.set(cli, known);
    return known;
  };
  const dispatchClis = agents.find((a) => a.name === DISPATCH_AGENT)?.clis ?? ['claude'];
  const missing = (cli: CliName) => look(cli).kind !== 'found';
  if (dispatchClis.every(missing)) return { kind: 'missing-for-dispatch', clis: [...dispatchClis], messages: dispatchClis.map((cli) => messageOf(look(cli))) };

  const warnings: string[] = [];
  for (const a of agents) {
    const gone = a.clis.filter(missing);
    if (gone.length === 0) continue;
    const there = a.clis.filter((cli) => !missing(cli));
    const why = gone.map((cli) => messageOf(look(cli))).join(' ');
    if (there.length === 0) warnings.push(`coven: agent ${a.name} cannot run: ${why} Its jobs fail until one of ${a.clis.join(', ')} is installed.`);
    else if (a.clis[0] !== there[0]) warnings.push(`coven: agent ${a.name} starts on ${there[0]}: ${why}`);
    else warnings.push(`coven: agent ${a.name} has no fallback on ${gone.join(', ')}: ${why}`);
  }
  return { kind: 'ok', warnings };
}

function messageOf(c: AgentCli): string {
  return c.kind === 'found' ? '' : c.message;
}
