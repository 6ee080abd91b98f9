// check — the real-CLI check (`npm run test:real-cli`, run by .ci/run after `npm test`):
// installs the pinned Claude Code CLI from the npm registry into the cache folder once,
// then runs the real-cli test files (test/real-cli*.test.ts) with COVEN_REAL_CLI=1 and
// the binary's path in COVEN_CLAUDE_BIN (so no file installs or checks it again), and
// with COVEN_TEST_SKIPS=fail: a skipped test there fails the check.
//
// When the registry cannot be reached (or Claude Code has no binary for this machine),
// the check says so on one line and is skipped: exit 0 without running anything. Any
// other install failure, and any failing test, fails the check.
//
//   run:    npm run build && node dist/test/real-cli/check.js [filter]
//   args:   filter   only test files whose path contains it (default: real-cli)
//   env:    COVEN_CLAUDE_CACHE etc. (see install-claude.ts); COVEN_TEST_JOBS (run-tests)
//           sets for the test files: COVEN_REAL_CLI=1, COVEN_CLAUDE_BIN, COVEN_TEST_SKIPS=fail
//   prints: one line about the install, then run-tests' lines
//   exit:   0 passed, or skipped (offline) · 1 install failed or a test failed

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isEntry } from '../../scripts/lib/ui/entry.js';
import { CLAUDE_BIN_ENV } from './gate.js';
import { installClaude } from './install-claude.js';

const runTests = join(dirname(fileURLToPath(import.meta.url)), '..', 'run-tests.js');

export async function main(argv: string[]): Promise<number> {
  const filter = argv[0] ?? 'real-cli';
  const started = Date.now();
  const install = await installClaude();
  if (install.kind === 'unavailable') {
    if (install.cause === 'broken') {
      process.stderr.write(`real-cli check: FAILED: could not install the Claude Code CLI: ${install.reason}\n`);
      return 1;
    }
    process.stdout.write(`real-cli check: skipped: ${install.reason}\n`);
    return 0;
  }
  const took = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`real-cli check: Claude Code ${install.version} ${install.cached ? 'from the cache' : `installed in ${took}s`}: ${install.claude}\n`);
  return new Promise((done) => {
    const child = spawn(process.execPath, [runTests, filter], { stdio: 'inherit', env: { ...process.env, COVEN_REAL_CLI: '1', [CLAUDE_BIN_ENV]: install.claude, COVEN_TEST_SKIPS: 'fail' } });
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
