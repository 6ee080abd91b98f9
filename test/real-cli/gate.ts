// gate — whether a real-CLI test file (test/real-cli*.test.ts) runs its tests against the
// real Claude Code CLI, skips them, or fails. A real-CLI check that was asked for must
// never turn into a silent skip:
//   COVEN_REAL_CLI unset             skip, saying how to run them (npm test)
//   COVEN_CLAUDE_BIN=<path>          the binary check.ts installed, once, for every file:
//                                    run (fail when it is not there)
//   COVEN_REAL_CLI=1 alone           (a file run by hand) install it here, never touching
//                                    the cache folder others may be using: skip only when
//                                    the registry cannot be reached, fail otherwise
//
//   const cli = await realCliGate('run these against the real Claude Code CLI');
//   const realTest = realCliTests('real-cli', cli);   // test, or test.skip (+ a failing test)

import { existsSync } from 'node:fs';
import { test, type Callback } from 'uvu';
import { installClaude, type ClaudeInstall } from './install-claude.js';

export type Gate = { kind: 'run'; claude: string } | { kind: 'skip'; reason: string } | { kind: 'fail'; reason: string };

/** The env var check.ts passes the installed binary in. */
export const CLAUDE_BIN_ENV = 'COVEN_CLAUDE_BIN';

/** The gate for `env`, given the install this file made (only asked for when neither env var decides). */
export function gateOf(purpose: string, env: NodeJS.ProcessEnv, install?: ClaudeInstall): Gate {
  if (env.COVEN_REAL_CLI !== '1') return { kind: 'skip', reason: `set COVEN_REAL_CLI=1 (npm run test:real-cli) to ${purpose}` };
  const bin = env[CLAUDE_BIN_ENV];
  if (bin) return existsSync(bin) ? { kind: 'run', claude: bin } : { kind: 'fail', reason: `${CLAUDE_BIN_ENV}=${bin}, but there is no such file` };
  if (!install) return { kind: 'fail', reason: 'the Claude Code CLI was not installed' };
  if (install.kind === 'installed') return { kind: 'run', claude: install.claude };
  if (install.cause === 'offline') return { kind: 'skip', reason: `the Claude Code CLI is unavailable: ${install.reason}` };
  return { kind: 'fail', reason: `the Claude Code CLI could not be installed (${install.cause}): ${install.reason}` };
}

export async function realCliGate(purpose: string, env: NodeJS.ProcessEnv = process.env): Promise<Gate> {
  const decided = env.COVEN_REAL_CLI !== '1' || env[CLAUDE_BIN_ENV];
  return gateOf(purpose, env, decided ? undefined : await installClaude({ keepCache: true }));
}

/**
 * The `test` to register the file's real-CLI tests with: `test` itself when they run,
 * else `test.skip` (run-tests shows the "skipped:" line); when the gate failed, also a
 * test that fails with the reason.
 */
export function realCliTests(file: string, gate: Gate): (name: string, fn: Callback) => void {
  if (gate.kind === 'run') return test;
  if (gate.kind === 'skip') process.stdout.write(`skipped: ${file}: ${gate.reason}\n`);
  else
    test(`${file}: the real Claude Code CLI is there to test against`, () => {
      throw new Error(`${gate.reason}\nNothing was run against it. Next: npm run test:real-cli (installs the pinned CLI once, then runs these files).`);
    });
  return test.skip;
}
