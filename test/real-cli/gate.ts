// gate — whether a real-CLI test file (test/real-cli*.test.ts) runs its tests against a
// real agent CLI (Claude Code, Codex, Gemini CLI, opencode), skips them, or fails. A
// real-CLI check that was asked for must never turn into a silent skip. Per CLI:
//   COVEN_REAL_CLI unset             skip, saying how to run them (npm run test:real-cli)
//   COVEN_<CLI>_BIN=<path>           the executable check.ts installed, once, for every
//                                    file: run (fail when it is not there)
//   COVEN_<CLI>_UNAVAILABLE=<why>    check.ts could not reach the npm registry for it:
//                                    skip, printing why (no test is registered, so the
//                                    check's COVEN_TEST_SKIPS=fail does not count them)
//   COVEN_REAL_CLI=1 alone           (a file run by hand) install it here, never touching
//                                    the cache folder others may be using: skip only when
//                                    the registry cannot be reached, fail otherwise
//
//   const cli = await realCli('codex');                      // or realCli('codex', 'run a worker cycle through the real Codex')
//   const realTest = realCliTests('real-cli-codex', cli);   // test, or test.skip (+ a failing test)
//   if (cli.kind === 'run') … cli.bin …
//   const both = await realClis(['claude', 'codex']);        // one gate for a file that needs several: both.bins.codex

import { existsSync } from 'node:fs';
import { test, type Callback } from 'uvu';
import type { CliName } from '../../scripts/lib/clis/adapter.js';
import { CLI_TITLES, installCli, type CliInstall } from './install-cli.js';

export type Skip = { kind: 'skip'; reason: string; offline: boolean };
export type Fail = { kind: 'fail'; reason: string };
export type Gate = { kind: 'run'; cli: CliName; bin: string } | Skip | Fail;
/** The gate of a file that needs several CLIs: it runs only when every one is there. */
export type GateOf<C extends CliName> = { kind: 'run'; bins: Record<C, string> } | Skip | Fail;

/** The env var check.ts passes a CLI's installed executable in: COVEN_CODEX_BIN, … */
export function binEnv(cli: CliName): string {
  return `COVEN_${cli.toUpperCase()}_BIN`;
}

/** The env var check.ts passes, instead, why a CLI could not be installed (the registry was unreachable). */
export function unavailableEnv(cli: CliName): string {
  return `COVEN_${cli.toUpperCase()}_UNAVAILABLE`;
}

export const CLAUDE_BIN_ENV = binEnv('claude');

function defaultPurpose(cli: CliName): string {
  return `run these against the real ${CLI_TITLES[cli]}`;
}

/** Whether the environment decides the gate without an install (check.ts ran, or it is not a real-CLI run). */
function decided(cli: CliName, env: NodeJS.ProcessEnv): boolean {
  return env.COVEN_REAL_CLI !== '1' || !!env[binEnv(cli)] || !!env[unavailableEnv(cli)];
}

/** The gate for `cli` under `env`, given the install this file made (only asked for when the env does not decide). */
export function gateOf(cli: CliName, purpose: string, env: NodeJS.ProcessEnv, install?: CliInstall): Gate {
  const title = CLI_TITLES[cli];
  if (env.COVEN_REAL_CLI !== '1') return { kind: 'skip', reason: `set COVEN_REAL_CLI=1 (npm run test:real-cli) to ${purpose}`, offline: false };
  const bin = env[binEnv(cli)];
  if (bin) return existsSync(bin) ? { kind: 'run', cli, bin } : { kind: 'fail', reason: `${binEnv(cli)}=${bin}, but there is no such file` };
  const unavailable = env[unavailableEnv(cli)];
  if (unavailable) return { kind: 'skip', reason: `the ${title} is unavailable: ${unavailable}`, offline: true };
  if (!install) return { kind: 'fail', reason: `the ${title} was not installed` };
  if (install.kind === 'installed') return { kind: 'run', cli, bin: install.bin };
  if (install.cause === 'offline') return { kind: 'skip', reason: `the ${title} is unavailable: ${install.reason}`, offline: true };
  return { kind: 'fail', reason: `the ${title} could not be installed (${install.cause}): ${install.reason}` };
}

/** The gate of one CLI: installs it here only when run by hand (COVEN_REAL_CLI=1 without check.ts). */
export async function realCli(cli: CliName, purpose = defaultPurpose(cli), env: NodeJS.ProcessEnv = process.env): Promise<Gate> {
  return gateOf(cli, purpose, env, decided(cli, env) ? undefined : await installCli(cli, { keepCache: true }));
}

/** The gates of several CLIs as one: a failure first, then a skip, else run with every executable. */
export function allOf<C extends CliName>(gates: Gate[]): GateOf<C> {
  const fail = gates.find((g): g is Fail => g.kind === 'fail');
  if (fail) return fail;
  const skip = gates.find((g): g is Skip => g.kind === 'skip');
  if (skip) return skip;
  const bins = {} as Record<C, string>;
  for (const g of gates) if (g.kind === 'run') bins[g.cli as C] = g.bin;
  return { kind: 'run', bins };
}

/** One gate for a file that needs several CLIs (the mixed run). */
export async function realClis<C extends CliName>(clis: C[], purpose?: string, env: NodeJS.ProcessEnv = process.env): Promise<GateOf<C>> {
  const gates = await Promise.all(clis.map((cli) => realCli(cli, purpose ?? defaultPurpose(cli), env)));
  return allOf<C>(gates);
}

/** registers nothing: the tests of a CLI that could not be installed, offline */
const unregistered = (_name: string, _fn: Callback): void => {};

/**
 * The `test` to register the file's real-CLI tests with: `test` itself when they run;
 * when the CLI is unavailable offline, nothing (the `skipped:` line says why); when not
 * asked for, `test.skip` (run-tests shows the "skipped:" line); when the gate failed,
 * also a test that fails with the reason.
 */
export function realCliTests(file: string, gate: { kind: 'run' } | Skip | Fail): (name: string, fn: Callback) => void {
  if (gate.kind === 'run') return test;
  if (gate.kind === 'skip') {
    process.stdout.write(`skipped: ${file}: ${gate.reason}\n`);
    return gate.offline ? unregistered : test.skip;
  }
  test(`${file}: the real CLI is there to test against`, () => {
    throw new Error(`${gate.reason}\nNothing was run against it. Next: npm run test:real-cli (installs the pinned CLIs once, then runs these files).`);
  });
  return test.skip;
}
