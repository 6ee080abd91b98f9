// real-cli-gate — the real-CLI check must not turn a failure into a skip: npm's output
// is judged offline only when the registry could not be reached (samples are npm 10's
// own output, the ENOTFOUND one also in npm 9's "npm ERR!" form); a CLI's test files
// skip only then, and never remove the shared cache folder. Also: which package each
// CLI is installed from, where the cache is, and what check.ts makes of four installs.
// Runs without the real CLIs (fake npm and fake executables).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allOf, binEnv, CLAUDE_BIN_ENV, gateOf, realCliTests, unavailableEnv, type Gate } from './real-cli/gate.js';
import { cliCacheDir, cliPackage, defaultCacheRoot, installCli, looksOffline, type CliInstall, type Machine } from './real-cli/install-cli.js';
import { installLine, testEnv, verdict, type Installed } from './real-cli/check.js';
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

/** An `npm` that "installs" an executable printing `printed` for --version at `bin` (below node_modules). */
function installingNpm(bin: string[], printed: string): string {
  const dir = tempDir('coven-fake-npm-');
  const npm = join(dir, 'npm');
  const target = ['node_modules', ...bin].join('/');
  writeFileSync(npm, `#!/bin/sh\nmkdir -p "$(dirname '${target}')"\nprintf '#!/bin/sh\\necho "${printed}"\\n' > '${target}'\nchmod 755 '${target}'\n`);
  chmodSync(npm, 0o755);
  return npm;
}

const linux: Machine = { platform: 'linux', arch: 'x64', musl: false, avx2: true };
const claudeBin = cliPackage('claude', '0.0.1')?.bin;

if (claudeBin) {
  test('installCli: an unreachable registry is "offline"; an error the registry answered with is "broken"', async () => {
    const off = await installCli('claude', { cacheRoot: tempDir(), npm: failingNpm(offline.ENOTFOUND!) });
    assert.equal(off.kind === 'unavailable' && off.cause, 'offline');
    const broken = await installCli('claude', { cacheRoot: tempDir(), npm: failingNpm(answered.E404!) });
    assert.equal(broken.kind === 'unavailable' && broken.cause, 'broken');
  });

  test('installCli with keepCache: a cached CLI that fails its --version check is reported broken and left in place', async () => {
    const cacheRoot = tempDir();
    const version = '0.0.1';
    const bin = join(cacheRoot, 'claude', version, 'node_modules', ...claudeBin);
    mkdirSync(join(bin, '..'), { recursive: true });
    writeFileSync(bin, '#!/bin/sh\necho "9.9.9 (Claude Code)"\n');
    chmodSync(bin, 0o755);
    const kept = await installCli('claude', { version, cacheRoot, npm: failingNpm(offline.ENOTFOUND!), keepCache: true });
    assert.equal(kept.kind === 'unavailable' && kept.cause, 'broken');
    assert.ok(existsSync(bin), 'the cache folder was removed');
    // without it (check.ts, alone): removed and installed again
    const again = await installCli('claude', { version, cacheRoot, npm: failingNpm(offline.ENOTFOUND!) });
    assert.equal(again.kind === 'unavailable' && again.cause, 'offline');
    assert.not.ok(existsSync(bin));
  });
}

test('installCli: installed into a temp folder, renamed once its --version printed the pinned version; found in the cache next time', async () => {
  const cacheRoot = tempDir();
  const pkg = cliPackage('codex', '0.0.7')!;
  const first = await installCli('codex', { version: '0.0.7', cacheRoot, npm: installingNpm(pkg.bin, 'codex-cli 0.0.7') });
  assert.equal(first.kind === 'installed' && first.cached, false);
  assert.equal(first.kind === 'installed' && first.bin, join(cacheRoot, 'codex', '0.0.7', 'node_modules', ...pkg.bin));
  assert.equal(readdirSync(join(cacheRoot, 'codex')), ['0.0.7'], 'the temp folder is left');
  const second = await installCli('codex', { version: '0.0.7', cacheRoot, npm: failingNpm(offline.ENOTFOUND!) });
  assert.equal(second.kind === 'installed' && second.cached, true);
});

test('installCli: an executable printing another version is "broken" and leaves no cache folder (complete or absent)', async () => {
  const cacheRoot = tempDir();
  const pkg = cliPackage('gemini', '0.0.7')!;
  const r = await installCli('gemini', { version: '0.0.7', cacheRoot, npm: installingNpm(pkg.bin, '0.0.8') });
  assert.equal(r.kind === 'unavailable' && r.cause, 'broken');
  assert.equal(readdirSync(join(cacheRoot, 'gemini')), []);
  const none = await installCli('opencode', { version: '1', cacheRoot, machine: { platform: 'freebsd', arch: 'x64', musl: false, avx2: true } });
  assert.equal(none.kind === 'unavailable' && none.cause, 'no-binary');
});

test('cliPackage: the platform package alone for claude, codex (its alias) and opencode (baseline without AVX2, musl); gemini whole', () => {
  assert.equal(cliPackage('claude', '2.1.197', linux), { spec: '@anthropic-ai/claude-code-linux-x64@2.1.197', bin: ['@anthropic-ai', 'claude-code-linux-x64', 'claude'] });
  assert.equal(cliPackage('codex', '0.171.0', linux), {
    spec: '@openai/codex-linux-x64@npm:@openai/codex@0.171.0-linux-x64',
    bin: ['@openai', 'codex-linux-x64', 'vendor', 'x86_64-unknown-linux-musl', 'bin', 'codex'],
  });
  assert.equal(cliPackage('codex', '0.171.0', { ...linux, platform: 'darwin', arch: 'arm64' })!.bin[3], 'aarch64-apple-darwin');
  assert.equal(cliPackage('gemini', '0.61.0', linux), { spec: '@google/gemini-cli@0.61.0', bin: ['@google', 'gemini-cli', 'bundle', 'gemini.js'] });
  assert.equal(cliPackage('opencode', '1.18.33', linux), { spec: 'opencode-linux-x64@1.18.33', bin: ['opencode-linux-x64', 'bin', 'opencode'] });
  assert.equal(cliPackage('opencode', '1.18.33', { ...linux, avx2: false, musl: true })!.spec, 'opencode-linux-x64-baseline-musl@1.18.33');
  assert.equal(cliPackage('opencode', '1.18.33', { ...linux, platform: 'win32' })!.bin, ['opencode-windows-x64', 'bin', 'opencode.exe']);
  assert.equal(cliPackage('claude', '2.1.197', { ...linux, arch: 'ia32' }), null);
});

test('the cache is outside the clone: COVEN_CLI_CACHE, else XDG_CACHE_HOME/coven/agent-clis, else ~/.cache; COVEN_CLAUDE_CACHE for claude', () => {
  assert.equal(defaultCacheRoot({ COVEN_CLI_CACHE: '/c', XDG_CACHE_HOME: '/x' }), '/c');
  assert.equal(defaultCacheRoot({ XDG_CACHE_HOME: '/x' }), '/x/coven/agent-clis');
  assert.ok(defaultCacheRoot({}).endsWith('/.cache/coven/agent-clis'));
  assert.equal(cliCacheDir('codex', { COVEN_CLI_CACHE: '/c' }), '/c/codex');
  assert.equal(cliCacheDir('claude', { COVEN_CLI_CACHE: '/c', COVEN_CLAUDE_CACHE: '/old' }), '/old');
  assert.equal(cliCacheDir('codex', { COVEN_CLI_CACHE: '/c', COVEN_CLAUDE_CACHE: '/old' }), '/c/codex');
});

test('the gate: skipped without COVEN_REAL_CLI; with it, run on the binary check.ts passed, skipped only when offline, failed otherwise', () => {
  const purpose = 'run these';
  const bin = join(tempDir(), 'claude');
  writeFileSync(bin, '');
  const unavailable = (cause: 'offline' | 'no-binary' | 'broken'): CliInstall => ({ kind: 'unavailable', cli: 'claude', cause, reason: `it is ${cause}` });
  assert.equal(gateOf('claude', purpose, {}).kind, 'skip');
  assert.equal(gateOf('claude', purpose, { COVEN_REAL_CLI: '1', [CLAUDE_BIN_ENV]: bin }), { kind: 'run', cli: 'claude', bin });
  assert.equal(gateOf('claude', purpose, { COVEN_REAL_CLI: '1', [CLAUDE_BIN_ENV]: `${bin}-gone` }).kind, 'fail');
  assert.equal(gateOf('claude', purpose, { COVEN_REAL_CLI: '1' }, { kind: 'installed', cli: 'claude', bin, version: '1', cached: true, bytes: 0 }), { kind: 'run', cli: 'claude', bin });
  assert.equal(gateOf('claude', purpose, { COVEN_REAL_CLI: '1' }, unavailable('offline')).kind, 'skip');
  assert.equal(gateOf('claude', purpose, { COVEN_REAL_CLI: '1' }, unavailable('broken')).kind, 'fail');
  assert.equal(gateOf('claude', purpose, { COVEN_REAL_CLI: '1' }, unavailable('no-binary')).kind, 'fail');
});

test('the gate per CLI: its own COVEN_<CLI>_BIN; COVEN_<CLI>_UNAVAILABLE (check.ts, offline) skips with that reason; several CLIs run only when all do', () => {
  const bin = join(tempDir(), 'codex');
  writeFileSync(bin, '');
  const env = { COVEN_REAL_CLI: '1', COVEN_CODEX_BIN: bin, COVEN_GEMINI_UNAVAILABLE: 'the npm registry cannot be reached (code ENOTFOUND)' };
  assert.equal(binEnv('opencode'), 'COVEN_OPENCODE_BIN');
  assert.equal(unavailableEnv('gemini'), 'COVEN_GEMINI_UNAVAILABLE');
  const codex = gateOf('codex', 'p', env);
  assert.equal(codex, { kind: 'run', cli: 'codex', bin });
  const gemini = gateOf('gemini', 'p', env);
  assert.equal(gemini, { kind: 'skip', offline: true, reason: 'the Gemini CLI is unavailable: the npm registry cannot be reached (code ENOTFOUND)' });
  assert.equal(gateOf('opencode', 'p', env).kind, 'fail', 'neither env var nor an install: fail');
  const claude: Gate = { kind: 'run', cli: 'claude', bin: '/c' };
  assert.equal(allOf<'claude' | 'codex'>([claude, codex]), { kind: 'run', bins: { claude: '/c', codex: bin } });
  assert.equal(allOf([claude, gemini]), gemini);
  assert.equal(allOf([gemini, { kind: 'fail', reason: 'x' }]).kind, 'fail');
});

test('realCliTests: test when the gate runs, test.skip when not asked for; nothing at all registered when the CLI is unavailable offline', () => {
  assert.is(realCliTests('f', { kind: 'run' }), test);
  assert.is(realCliTests('f', { kind: 'skip', offline: false, reason: 'set COVEN_REAL_CLI=1' }), test.skip);
  const offlineTests = realCliTests('f', { kind: 'skip', offline: true, reason: 'the Codex CLI is unavailable: offline' });
  assert.is.not(offlineTests, test);
  assert.is.not(offlineTests, test.skip);
});

test('check.ts: one line per CLI; an offline CLI skips its own files; any other install failure fails; none installed skips', () => {
  const ok = (cli: 'claude' | 'codex', cached: boolean): Installed => ({ install: { kind: 'installed', cli, bin: `/cache/${cli}`, version: '1.2.3', cached, bytes: 74e6 }, ms: 12_300 });
  const off: Installed = { install: { kind: 'unavailable', cli: 'gemini', cause: 'offline', reason: 'the npm registry cannot be reached (code ENOTFOUND)' }, ms: 10 };
  const broken: Installed = { install: { kind: 'unavailable', cli: 'opencode', cause: 'broken', reason: 'npm install failed (code E404)' }, ms: 10 };
  assert.equal(installLine(ok('claude', false)), 'real-cli check: Claude Code CLI 1.2.3    installed in 12.3 s, 74 MB: /cache/claude');
  assert.match(installLine(ok('codex', true)), /Codex CLI +1\.2\.3 +from the cache .*: \/cache\/codex$/);
  assert.match(installLine(off), /Gemini CLI +unavailable: offline: the npm registry cannot be reached .*its tests are skipped/);
  assert.equal(verdict([ok('claude', true), off]), 'run');
  assert.equal(verdict([ok('claude', true), off, broken]), 'fail');
  assert.equal(verdict([off]), 'skip');
  const env = testEnv([ok('claude', true), off], { COVEN_GEMINI_BIN: '/stale', COVEN_TEST_SKIPS: 'no' });
  assert.equal([env.COVEN_REAL_CLI, env.COVEN_TEST_SKIPS, env.COVEN_CLAUDE_BIN, env.COVEN_GEMINI_BIN], ['1', 'fail', '/cache/claude', undefined]);
  assert.equal(env.COVEN_GEMINI_UNAVAILABLE, 'the npm registry cannot be reached (code ENOTFOUND)');
  assert.equal([env.COVEN_TEST_JOBS, env.COVEN_TEST_TIMEOUT], ['6', '300'], 'the defaults for real-CLI files');
  assert.equal(testEnv([], { COVEN_TEST_JOBS: '2' }).COVEN_TEST_JOBS, '2', 'the caller\'s choice wins');
});

test.run();
