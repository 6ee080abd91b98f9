// check — the real-CLI check (`npm run test:real-cli`, run by .ci/run after `npm test`):
// installs the four pinned agent CLIs (Claude Code, Codex, Gemini CLI, opencode) from the
// npm registry into the cache folder outside the clone, side by side, once (see
// install-cli.ts), then runs the real-cli test files (test/real-cli*.test.ts) with
// COVEN_REAL_CLI=1 and each executable's path in COVEN_<CLI>_BIN (so no file installs or
// checks it again), and with COVEN_TEST_SKIPS=fail: a skipped test there fails the check.
//
// A CLI whose install could not reach the registry is named with why on its line, and
// its test files skip, printing that reason (COVEN_<CLI>_UNAVAILABLE, see gate.ts); when
// none of them could be installed, nothing runs and the check is skipped: exit 0. Any
// other install failure (an error the registry answered with, no package for this
// machine, a CLI that does not run), and any failing test, fails the check.
//
//   run:    npm run build && node dist/test/real-cli/check.js [filter]
//   args:   filter   only test files whose path contains it (default: real-cli)
//   env:    COVEN_CLI_CACHE, COVEN_CLAUDE_CACHE (see install-cli.ts); COVEN_TEST_JOBS and
//           COVEN_TEST_TIMEOUT (run-tests), here by default 6 files at once (they mostly
//           wait on the CLIs and their mocks: about half a core for 3 to 6 of them) and
//           300 s per file (a real CLI starts in seconds, more on a busy machine)
//           sets for the test files: COVEN_REAL_CLI=1, COVEN_<CLI>_BIN or
//           COVEN_<CLI>_UNAVAILABLE for each CLI, COVEN_TEST_SKIPS=fail
//   prints: one line per CLI (version, from the cache or installed in N s, its size, its
//           path), then run-tests' lines
//   exit:   0 passed, or skipped (offline) · 1 an install failed or a test failed

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_NAMES, type CliName } from '../../scripts/lib/clis/adapter.js';
import { isEntry } from '../../scripts/lib/ui/entry.js';
import { binEnv, unavailableEnv } from './gate.js';
import { CLI_TITLES, installCli, type CliInstall } from './install-cli.js';

const runTests = join(dirname(fileURLToPath(import.meta.url)), '..', 'run-tests.js');

/** One CLI's install and how long it took. */
export interface Installed {
  install: CliInstall;
  ms: number;
}

/** Installs every CLI at once; each result with its own time. */
export async function installAll(clis: readonly CliName[] = CLI_NAMES, install = installCli): Promise<Installed[]> {
  return Promise.all(
    clis.map(async (cli) => {
      const started = Date.now();
      const r = await install(cli);
      return { install: r, ms: Date.now() - started };
    }),
  );
}

/** The line printed for one CLI. */
export function installLine({ install: r, ms }: Installed): string {
  const name = CLI_TITLES[r.cli].padEnd(15);
  if (r.kind === 'unavailable') return `real-cli check: ${name} unavailable: ${r.cause}: ${r.reason}${r.cause === 'offline' ? ' (its tests are skipped)' : ''}`;
  const how = r.cached ? `from the cache (checked in ${(ms / 1000).toFixed(1)} s)` : `installed in ${(ms / 1000).toFixed(1)} s, ${Math.round(r.bytes / 1e6)} MB`;
  return `real-cli check: ${name} ${r.version.padEnd(8)} ${how}: ${r.bin}`;
}

/** The env the test files run with: each CLI's executable, or why it is unavailable. */
export function testEnv(installs: Installed[], base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { COVEN_TEST_JOBS: '6', COVEN_TEST_TIMEOUT: '300', ...base, COVEN_REAL_CLI: '1', COVEN_TEST_SKIPS: 'fail' };
  for (const { install: r } of installs) {
    delete env[binEnv(r.cli)];
    delete env[unavailableEnv(r.cli)];
    if (r.kind === 'installed') env[binEnv(r.cli)] = r.bin;
    else env[unavailableEnv(r.cli)] = r.reason;
  }
  return env;
}

/** What the installs decide: fail (any install failed otherwise than offline), skip (none installed) or run. */
export function verdict(installs: Installed[]): 'fail' | 'skip' | 'run' {
  if (installs.some(({ install: r }) => r.kind === 'unavailable' && r.cause !== 'offline')) return 'fail';
  return installs.some(({ install: r }) => r.kind === 'installed') ? 'run' : 'skip';
}

export async function main(argv: string[]): Promise<number> {
  const filter = argv[0] ?? 'real-cli';
  const installs = await installAll();
  for (const i of installs) process.stdout.write(installLine(i) + '\n');
  const v = verdict(installs);
  if (v === 'fail') {
    process.stderr.write('real-cli check: FAILED: a CLI could not be installed (above). Nothing was run. Next: fix that, then npm run test:real-cli again.\n');
    return 1;
  }
  if (v === 'skip') {
    process.stdout.write('real-cli check: skipped: the npm registry cannot be reached, so no CLI is installed\n');
    return 0;
  }
  return new Promise((done) => {
    const child = spawn(process.execPath, [runTests, filter], { stdio: 'inherit', env: testEnv(installs) });
    child.on('close', (code) => done(code ?? 1));
  });
}

if (isEntry(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`real-cli check: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
