// catalog — the agents as text: what `coven agents` prints and what every dispatch
// prompt holds (one line per agent, one per argument), and its size limit.
//
// Inputs: valid agents (lib/agents/registry.ts). Outputs: text, and which agents fit.
// A description is untrusted text (an agent can commit an agent file): white space is
// one space, and any other control character is shown escaped, never raw.

import type { AgentDef, AgentFileProblem } from './registry.js';
import { escapeNotPlain } from '../ui/plain-text.js';

/** the catalog is part of each dispatch prompt: at most this many characters */
export const MAX_CATALOG_CHARS = 256 * 1024;

type CatalogAgent = Pick<AgentDef, 'name' | 'description' | 'args' | 'maxConcurrency'>;

/**
 * The agents as text, for humans (`coven agents`) and for the dispatch prompt:
 *   plan — Writes a plan for one issue
 *       issue (required): path of the issue file
 */
export function formatAgentCatalog(agents: readonly CatalogAgent[]): string {
  if (agents.length === 0) return '(no agents)';
  const lines: string[] = [];
  for (const a of agents) {
    const limit = a.maxConcurrency === undefined ? '' : ` (at most ${a.maxConcurrency} at once)`;
    lines.push(`${a.name} — ${oneLine(a.description)}${limit}`);
    if (a.args.length === 0) lines.push('    (no arguments)');
    for (const arg of a.args) lines.push(`    ${arg.name} (${arg.required ? 'required' : 'optional'}): ${oneLine(arg.description)}`);
  }
  return lines.join('\n');
}

/**
 * The agents (sorted by name) whose catalog fits in MAX_CATALOG_CHARS; the rest, the
 * last by name, are left out with a problem each. `dispatch` chooses from the catalog
 * and is not in it: always kept.
 */
export function capCatalog(agents: readonly AgentDef[], dispatch: string): { kept: AgentDef[]; leftOut: AgentFileProblem[] } {
  let chars = 0;
  const kept: AgentDef[] = [];
  const leftOut: AgentFileProblem[] = [];
  for (const agent of agents) {
    if (agent.name !== dispatch) chars += formatAgentCatalog([agent]).length + 1;
    if (agent.name === dispatch || chars <= MAX_CATALOG_CHARS) kept.push(agent);
    else leftOut.push({ file: agent.file, message: `left out: the agents' catalog, which every dispatch prompt holds, would be over the limit of ${MAX_CATALOG_CHARS} characters (shorten the descriptions, or remove agents)` });
  }
  return { kept, leftOut };
}

/** One line of plain text: white space (line breaks too) as one space, any other control character escaped. */
function oneLine(s: string): string {
  return escapeNotPlain(s.replace(/\s+/g, ' ').trim());
}
