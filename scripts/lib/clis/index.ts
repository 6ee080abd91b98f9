// clis — the adapter of each CLI coven can drive, by name. One line per CLI; a name
// with no adapter yet is a typed answer, not a throw.

import type { CliAdapter, CliName } from './adapter.js';
import type { SessionOutcome } from '../session/session-contract.js';
import { claudeAdapter } from './claude.js';
import { codexAdapter } from './codex.js';
import { geminiAdapter } from './gemini.js';
import { opencodeAdapter } from './opencode.js';

const adapters: Partial<Record<CliName, CliAdapter>> = {
  claude: claudeAdapter,
  codex: codexAdapter,
  gemini: geminiAdapter,
  opencode: opencodeAdapter,
};

export type AdapterLookup = { kind: 'adapter'; adapter: CliAdapter } | { kind: 'not-available'; cli: CliName; message: string };

export function adapterFor(name: CliName): AdapterLookup {
  const adapter = adapters[name];
  if (adapter) return { kind: 'adapter', adapter };
  return { kind: 'not-available', cli: name, message: `coven has no adapter for the CLI '${name}' yet (it drives: ${availableClis().join(', ')})` };
}

/** The session ended because `cli` does not know the session id it was asked to resume (in its own words). */
export function sessionUnknown(outcome: SessionOutcome, cli: CliName): boolean {
  const a = adapterFor(cli);
  const words = a.kind === 'adapter' ? a.adapter.unknownSession : undefined;
  if (!words) return false;
  if (outcome.kind === 'agent-error') return outcome.errors.some((e) => words.test(e));
  return outcome.kind === 'crashed' && outcome.stderrTail.some((l) => words.test(l));
}

/** The CLIs that have an adapter. */
export function availableClis(): CliName[] {
  return (Object.keys(adapters) as CliName[]).filter((n) => adapters[n] !== undefined);
}

/**
 * Registers (or, with null, removes) an adapter for a name: tests drive the runner
 * through an adapter of their own. Returns what was there before.
 */
export function setAdapterForTest(name: CliName, adapter: CliAdapter | null): CliAdapter | undefined {
  const before = adapters[name];
  if (adapter) adapters[name] = adapter;
  else delete adapters[name];
  return before;
}
