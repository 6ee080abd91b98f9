// real-cli-gate — the real-CLI check must not turn a failure into a skip: npm's output
// is judged offline only when the registry could not be reached (samples are npm 10's
// own output, the ENOTFOUND one also in npm 9's "npm ERR!" form); a test file skips
// only then, and never removes the shared cache folder. Runs without the real CLI.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLAUDE_BIN_ENV, gateOf } from './real-cli/gate.js';
import { installClaude, looksOffline, platformPackage, type ClaudeInstall } from './real-cli/install-claude.js';
import { tempDir } from './helpers/repo.js';

const URL = 'https://registry.npmjs.org/@anthropic-ai%2fclaude-code-linux-x64';
const network = `npm error network This is a problem related to network connectivity.
npm error network In most cases you are behind a proxy or have bad network settings.`;

const offline: Record<string, string> = {
  'connection refused': `npm error code ECONNREFUSED
npm error syscall connect
npm error errno ECONNREFUSED
npm error FetchError: request to ${URL} failed, reason: connect ECONNREFUSED 127.0.0.1:443
npm error     at ClientRequest.<anonymous> (/usr/lib/node_modules/npm/node_modules/minipass-fetch/lib/index.js:130:14)
npm error   code: 'ECONNREFUSED',`,
  ENOTFOUND: `npm error code ENOTFOUND
npm error syscall getaddrinfo
npm error errno ENOTFOUND
npm error network request to ${URL} failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org
${network}`,
  'ENOTFOUND (npm 9)': `npm ERR! code ENOTFOUND
npm ERR! syscall getaddrinfo
npm ERR! errno ENOTFOUND
npm ERR! network request to ${URL} failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org`,
  ETIMEDOUT: `npm error code ETIMEDOUT
npm error syscall connect
npm error errno ETIMEDOUT
npm error network request to ${URL} failed, reason: connect ETIMEDOUT 104.16.3.35:443
${network}`,
  'socket hang-up': `npm error code ECONNRESET
npm error errno ECONNRESET
npm error network request to ${URL} failed, reason: socket hang up
${network}`,
  'network timeout': `npm error code FETCH_ERROR
npm error errno FETCH_ERROR
npm error network timeout at: ${URL}`,
};

const answered: Record<string, string> = {
  E404: `npm error code E404
npm error 404 Not Found - GET ${URL} - Not found
npm error 404
npm error 404  The requested resource '@anthropic-ai/claude-code-linux-x64@2.1.197' could not be found or you do not have permission to access it.`,
  E500: `npm error code E500
npm error 500 Internal Server Error - GET ${URL}`,
  'bad JSON': `npm error code FETCH_ERROR
npm error errno FETCH_ERROR
npm error invalid json response body at ${URL} reason: Unexpected token '<', "<html>nope</html>" is not valid JSON`,
  'integrity error': `npm error code EINTEGRITY
npm error sha512-AQEB== integrity checksum failed when using sha512: wanted sha512-AQEB== but got sha512-vxMi==. (15 bytes)`,
  'no such version': `npm error code ETARGET
npm error notarget No matching version found for @anthropic-ai/claude-code-linux-x64@9.9.9.`,
};

test('npm output is offline for connection refused, ENOTFOUND, ETIMEDOUT, a socket hang-up and a network timeout', () => {
  for (const [what, out] of Object.entries(offline)) assert.ok(looksOffline(out), what);
});

test('npm output is not offline when the registry answered: E404, E500, bad JSON, an integrity error, no such version', () => {
  for (const [what, out] of Object.entries(answered)) assert.not.ok(looksOffline(out), what);
});

/** An `npm` that prints `output` and fails, as the registry's failure would. */
function failingNpm(output: string): string {
  const dir = tempDir('coven-fake-npm-');
  writeFileSync(join(dir, 'out.txt'), output + '\n');
  const npm = join(dir, 'npm');
  writeFileSync(npm, `#!/bin/sh\ncat '${join(dir, 'out.txt')}' >&2\nexit 1\n`);
  chmodSync(npm, 0o755);
  return npm;
}

const pkg = platformPackage();

if (pkg) {
  test('installClaude: an unreachable registry is "offline"; an error the registry answered with is "broken"', async () => {
    const off = await installClaude({ cacheRoot: tempDir(), npm: failingNpm(offline.ENOTFOUND!) });
    assert.equal(off.kind === 'unavailable' && off.cause, 'offline');
    const broken = await installClaude({ cacheRoot: tempDir(), npm: failingNpm(answered.E404!) });
    assert.equal(broken.kind === 'unavailable' && broken.cause, 'broken');
  });

  test('installClaude with keepCache: a cached CLI that fails its --version check is reported broken and left in place', async () => {
    const cacheRoot = tempDir();
    const version = '0.0.1';
    const bin = join(cacheRoot, version, 'node_modules', ...pkg.split('/'), 'claude');
    mkdirSync(join(bin, '..'), { recursive: true });
    writeFileSync(bin, '#!/bin/sh\necho "9.9.9 (Claude Code)"\n');
    chmodSync(bin, 0o755);
    const kept = await installClaude({ version, cacheRoot, npm: failingNpm(offline.ENOTFOUND!), keepCache: true });
    assert.equal(kept.kind === 'unavailable' && kept.cause, 'broken');
    assert.ok(existsSync(bin), 'the cache folder was removed');
    // without it (check.ts, alone): removed and installed again
    const again = await installClaude({ version, cacheRoot, npm: failingNpm(offline.ENOTFOUND!) });
    assert.equal(again.kind === 'unavailable' && again.cause, 'offline');
    assert.not.ok(existsSync(bin));
  });
}

test('the gate: skipped without COVEN_REAL_CLI; with it, run on the binary check.ts passed, skipped only when offline, failed otherwise', () => {
  const purpose = 'run these';
  const bin = join(tempDir(), 'claude');
  writeFileSync(bin, '');
  const unavailable = (cause: 'offline' | 'no-binary' | 'broken'): ClaudeInstall => ({ kind: 'unavailable', cause, reason: `it is ${cause}` });
  assert.equal(gateOf(purpose, {}).kind, 'skip');
  assert.equal(gateOf(purpose, { COVEN_REAL_CLI: '1', [CLAUDE_BIN_ENV]: bin }), { kind: 'run', claude: bin });
  assert.equal(gateOf(purpose, { COVEN_REAL_CLI: '1', [CLAUDE_BIN_ENV]: `${bin}-gone` }).kind, 'fail');
  assert.equal(gateOf(purpose, { COVEN_REAL_CLI: '1' }, { kind: 'installed', claude: bin, version: '1', cached: true }), { kind: 'run', claude: bin });
  assert.equal(gateOf(purpose, { COVEN_REAL_CLI: '1' }, unavailable('offline')).kind, 'skip');
  assert.equal(gateOf(purpose, { COVEN_REAL_CLI: '1' }, unavailable('broken')).kind, 'fail');
  assert.equal(gateOf(purpose, { COVEN_REAL_CLI: '1' }, unavailable('no-binary')).kind, 'fail');
});

test.run();
