// price — what a session cost. Dollars where the CLI says them (Claude Code); else
// tokens × the user's price in COVEN_PRICE_<CLI> = "<input $ per Mtok>,<output $ per Mtok>"
// (e.g. COVEN_PRICE_CODEX=1.25,10); else 0, and the tokens are shown instead.
// Pure: the environment and the figures in, a value out. A bad price is named, never a crash.

import type { CliAdapter, CliName, TokenCounts } from './adapter.js';

export interface Price {
  inputPerMtok: number;
  outputPerMtok: number;
}

export type PriceSetting = { kind: 'price'; price: Price } | { kind: 'none' } | { kind: 'bad'; variable: string; problem: string };

export const priceVariable = (cli: CliName): string => `COVEN_PRICE_${cli.toUpperCase()}`;

/** The user's price for a CLI's tokens, from env. */
export function priceOf(cli: CliName, env: NodeJS.ProcessEnv): PriceSetting {
  const variable = priceVariable(cli);
  const raw = env[variable]?.trim();
  if (!raw) return { kind: 'none' };
  const parts = raw.split(',').map((p) => p.trim());
  const nums = parts.map((p) => (/^\d+(\.\d+)?$/.test(p) ? Number(p) : NaN));
  if (parts.length !== 2 || nums.some((n) => !Number.isFinite(n))) {
    return { kind: 'bad', variable, problem: `${variable}=${JSON.stringify(raw.slice(0, 60))} is not "<input $ per Mtok>,<output $ per Mtok>" (e.g. ${variable}=1.25,10); the cost is shown as tokens` };
  }
  return { kind: 'price', price: { inputPerMtok: nums[0]!, outputPerMtok: nums[1]! } };
}

export interface SessionCost {
  /** dollars; 0 when neither the CLI nor a price gives them */
  costUsd: number;
  /** false: costUsd is not known (show the tokens) */
  priced: boolean;
  /** a bad COVEN_PRICE_<CLI>, to show once */
  problem?: string;
}

/** What a session cost: the CLI's dollars, else tokens × the user's price, else 0 (unpriced). */
export function sessionCost(adapter: Pick<CliAdapter, 'name' | 'costInDollars'>, cliCostUsd: number | undefined, tokens: TokenCounts | undefined, env: NodeJS.ProcessEnv): SessionCost {
  if (adapter.costInDollars && cliCostUsd !== undefined) return { costUsd: cliCostUsd, priced: true };
  const setting = priceOf(adapter.name, env);
  if (setting.kind === 'bad') return { costUsd: 0, priced: false, problem: setting.problem };
  if (setting.kind === 'none') return { costUsd: cliCostUsd ?? 0, priced: cliCostUsd !== undefined };
  if (!tokens) return { costUsd: 0, priced: true };
  return { costUsd: (tokens.input * setting.price.inputPerMtok + tokens.output * setting.price.outputPerMtok) / 1_000_000, priced: true };
}

/** `950 tokens`, `12.3k tokens`, `4.1M tokens` (input and output together). */
export function formatTokens(tokens: TokenCounts): string {
  const n = tokens.input + tokens.output;
  if (n < 1000) return `${n} tokens`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)}k tokens`;
  return `${(n / 1_000_000).toFixed(1)}M tokens`;
}

/** Adds two token counts (either may be missing). */
export function addTokens(a: TokenCounts | undefined, b: TokenCounts | undefined): TokenCounts | undefined {
  if (!a) return b;
  if (!b) return a;
  return { input: a.input + b.input, output: a.output + b.output, cachedInput: a.cachedInput + b.cachedInput };
}
