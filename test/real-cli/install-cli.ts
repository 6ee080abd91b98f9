// install-cli — puts a pinned agent CLI (Claude Code, Codex, Gemini CLI, opencode) in a
// cache folder outside the clone, from the npm registry only, and says where its
// executable is. A fresh clone on the same machine finds it there and downloads nothing.
//
// What is installed, each with --ignore-scripts (no install script runs, nothing is
// downloaded from outside the registry):
//   claude    @anthropic-ai/claude-code-<platform>: the whole CLI as one native file. The
//             wrapper package only copies it out in a postinstall, so it is left out.
//   codex     @openai/codex@<version>-<platform> (the wrapper's optional dependency, under
//             its alias @openai/codex-<platform>): the native binary and what it ships
//             beside it (rg, bwrap). The wrapper is a Node script that only finds and
//             execs it, so it is left out.
//   gemini    @google/gemini-cli with its (optional) dependencies: one JavaScript bundle.
//             keytar and node-pty are not built; the prebuilt @lydell/node-pty is used.
//   opencode  opencode-<platform>[-baseline][-musl]: the Bun binary. The opencode-ai
//             wrapper refuses to run until its postinstall has copied that binary into
//             it, so it is left out too.
//
//   cache:  $COVEN_CLI_CACHE, else $XDG_CACHE_HOME/coven/agent-clis, else
//           ~/.cache/coven/agent-clis; one folder per CLI and version:
//           <cache>/<cli>/<version>/node_modules/… ($COVEN_CLAUDE_CACHE, when set, stands
//           for <cache>/claude). Installed into a temp folder beside it, checked with
//           `--version`, then renamed: a cache folder is complete or absent.
//   result: { kind: 'installed', cli, bin, version, cached, bytes } or
//           { kind: 'unavailable', cli, cause, reason }; cause: 'offline' (the registry
//           cannot be reached: looksOffline), 'no-binary' (no package for this machine),
//           'broken' (npm failed otherwise — an HTTP error, bad JSON, a bad tarball — or
//           the executable does not run)
//   keepCache: a cached CLI that fails its --version check is reported broken instead
//           of removed and installed again (for callers that run side by side)
//   also runs alone: node dist/test/real-cli/install-cli.js <cli> [version]  (prints the path)

import { execFile } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isCliName, type CliName } from '../../scripts/lib/clis/adapter.js';
import { isEntry } from '../../scripts/lib/ui/entry.js';

/** The pinned versions: the ones shared/reference/ was observed with. */
export const CLI_VERSIONS: Record<CliName, string> = { claude: '2.1.197', codex: '0.171.0', gemini: '0.61.0', opencode: '1.18.33' };

/** How each CLI is called in messages ("the Codex CLI is unavailable"). */
export const CLI_TITLES: Record<CliName, string> = { claude: 'Claude Code CLI', codex: 'Codex CLI', gemini: 'Gemini CLI', opencode: 'opencode CLI' };

export type CliInstall =
  | { kind: 'installed'; cli: CliName; bin: string; version: string; cached: boolean; bytes: number }
  | { kind: 'unavailable'; cli: CliName; cause: 'offline' | 'no-binary' | 'broken'; reason: string };

/** The machine a package is picked for. */
export interface Machine {
  platform: NodeJS.Platform;
  arch: string;
  musl: boolean;
  /** x64 only: whether the CPU has AVX2 (opencode's default build needs it) */
  avx2: boolean;
}

/** What npm installs for one CLI, and where its executable is then, below node_modules. */
export interface CliPackage {
  /** the spec given to npm install (a name@version, or alias@npm:name@version) */
  spec: string;
  /** the executable's path below node_modules */
  bin: string[];
}

export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.COVEN_CLI_CACHE) return resolve(env.COVEN_CLI_CACHE);
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'coven', 'agent-clis');
  return join(homedir(), '.cache', 'coven', 'agent-clis');
}

/** The folder a CLI's versions are kept in. */
export function cliCacheDir(cli: CliName, env: NodeJS.ProcessEnv = process.env, cacheRoot?: string): string {
  if (cacheRoot) return join(cacheRoot, cli);
  if (cli === 'claude' && env.COVEN_CLAUDE_CACHE) return resolve(env.COVEN_CLAUDE_CACHE);
  return join(defaultCacheRoot(env), cli);
}

export function thisMachine(): Machine {
  const report = process.platform === 'linux' ? (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }) : {};
  const musl = process.platform === 'linux' && report.header?.glibcVersionRuntime === undefined;
  let avx2 = false;
  if (process.arch === 'x64' && process.platform === 'linux') {
    try {
      avx2 = /(^|\s)avx2(\s|$)/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
    } catch {
      avx2 = false;
    }
  } else avx2 = process.arch === 'x64'; // macOS and Windows x64 machines of today have it
  return { platform: process.platform, arch: process.arch, musl, avx2 };
}

const SUPPORTED: Record<string, string[]> = { linux: ['x64', 'arm64'], darwin: ['x64', 'arm64'], win32: ['x64', 'arm64'] };

/** Rust's target triples, as the Codex package names its vendor folders. */
const CODEX_TRIPLES: Record<string, string> = {
  'linux-x64': 'x86_64-unknown-linux-musl',
  'linux-arm64': 'aarch64-unknown-linux-musl',
  'darwin-x64': 'x86_64-apple-darwin',
  'darwin-arm64': 'aarch64-apple-darwin',
  'win32-x64': 'x86_64-pc-windows-msvc',
  'win32-arm64': 'aarch64-pc-windows-msvc',
};

/** The package to install for `cli` at `version` on machine `m`, or null when it ships none for it. */
export function cliPackage(cli: CliName, version: string, m: Machine = thisMachine()): CliPackage | null {
  if (cli === 'gemini') return { spec: `@google/gemini-cli@${version}`, bin: ['@google', 'gemini-cli', 'bundle', 'gemini.js'] };
  if (!SUPPORTED[m.platform]?.includes(m.arch)) return null;
  const exe = m.platform === 'win32' ? '.exe' : '';
  const target = `${m.platform}-${m.arch}`;
  if (cli === 'claude') {
    const name = `@anthropic-ai/claude-code-${target}${m.platform === 'linux' && m.musl ? '-musl' : ''}`;
    return { spec: `${name}@${version}`, bin: [...name.split('/'), `claude${exe}`] };
  }
  if (cli === 'codex') {
    const alias = `@openai/codex-${target}`;
    return { spec: `${alias}@npm:@openai/codex@${version}-${target}`, bin: [...alias.split('/'), 'vendor', CODEX_TRIPLES[target]!, 'bin', `codex${exe}`] };
  }
  const os = m.platform === 'win32' ? 'windows' : m.platform;
  const baseline = m.arch === 'x64' && !m.avx2 ? '-baseline' : '';
  const musl = m.platform === 'linux' && m.musl ? '-musl' : '';
  const name = `opencode-${os}-${m.arch}${baseline}${musl}`;
  return { spec: `${name}@${version}`, bin: [name, 'bin', `opencode${exe}`] };
}

interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Exec> {
  return new Promise((done) => {
    execFile(file, args, { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) + (err && code === 1 && !stderr ? err.message : '') });
    });
  });
}

/**
 * `<bin> --version` must print the pinned version (as a word of its own: Claude prints
 * "2.1.197 (Claude Code)", Codex "codex-cli 0.171.0"); anything else means it does not
 * run here. It runs with a HOME of its own: a CLI writes its folders there on start.
 */
export async function checkVersion(bin: string, version: string): Promise<string | null> {
  const home = mkdtempSync(join(tmpdir(), 'coven-cli-version-'));
  try {
    mkdirSync(join(home, '.codex'));
    const env = { ...process.env, HOME: home, USERPROFILE: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, '.local', 'share'), XDG_CACHE_HOME: join(home, '.cache'), XDG_STATE_HOME: join(home, '.local', 'state'), CODEX_HOME: join(home, '.codex') };
    const r = await exec(bin, ['--version'], { env, cwd: home, timeoutMs: 60_000 });
    const words = r.stdout.trim().split(/\s+/);
    if (r.code === 0 && words.includes(version)) return null;
    return `${bin} --version printed ${JSON.stringify((r.stdout + r.stderr).trim().slice(0, 200))} (exit ${r.code}), expected ${version}`;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** npm's error codes for a registry that could not be reached (name lookup, refused, cut off, timed out) */
const OFFLINE_CODES = /^(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKETTIMEDOUT|ERR_SOCKET_TIMEOUT|ENETUNREACH|ENETDOWN|EHOSTUNREACH|EHOSTDOWN)$/;

/**
 * Whether npm's output says the registry could not be reached, judged by npm's `code`
 * line: an answer from the registry (E404, E500, bad JSON, EINTEGRITY, …) is not offline.
 * FETCH_ERROR is both a network timeout and bad JSON: only the timeout is offline.
 * Without a code line, by the error's text.
 */
export function looksOffline(npmOutput: string): boolean {
  const code = /^npm (?:error|ERR!) code (\S+)/m.exec(npmOutput)?.[1];
  if (code === 'FETCH_ERROR') return /network timeout at/i.test(npmOutput);
  if (code !== undefined) return OFFLINE_CODES.test(code);
  return /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH)\b|socket hang up|network timeout/.test(npmOutput);
}

/** npm's error code and its one-line message, without the stack and the advice. */
export function npmErrorSummary(output: string): string {
  const lines = output.split('\n').map((l) => l.replace(/^npm (error|ERR!) ?/, '')).filter((l) => l.trim() && !/^\s/.test(l) && !/^[{}]/.test(l));
  const code = lines.find((l) => /^code /.test(l));
  const message = lines.find((l) => /Error|request to|No matching|notarget|404|ETARGET/i.test(l) && l !== code);
  return [code, message].filter(Boolean).join(': ') || lines.slice(-3).join(' | ');
}

/** Bytes in a folder, links not followed. */
export function folderBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += folderBytes(p);
    else n += lstatSync(p).size;
  }
  return n;
}

export interface InstallOptions {
  version?: string;
  /** the folder holding each CLI's folder (default: defaultCacheRoot, or COVEN_CLAUDE_CACHE for claude) */
  cacheRoot?: string;
  npm?: string;
  keepCache?: boolean;
  machine?: Machine;
}

/** Installs (or finds in the cache) the pinned CLI and returns its executable. */
export async function installCli(cli: CliName, opts: InstallOptions = {}): Promise<CliInstall> {
  const version = opts.version ?? CLI_VERSIONS[cli];
  const pkg = cliPackage(cli, version, opts.machine);
  const title = CLI_TITLES[cli];
  if (!pkg) return { kind: 'unavailable', cli, cause: 'no-binary', reason: `${title} ships no binary for ${process.platform}-${process.arch}` };
  const root = cliCacheDir(cli, process.env, opts.cacheRoot);
  const dir = join(root, version);
  const bin = join(dir, 'node_modules', ...pkg.bin);
  if (existsSync(bin)) {
    const bad = await checkVersion(bin, version);
    if (!bad) return { kind: 'installed', cli, bin, version, cached: true, bytes: 0 };
    if (opts.keepCache) return { kind: 'unavailable', cli, cause: 'broken', reason: `the cached CLI does not run: ${bad} (left as it is; npm run test:real-cli installs it again)` };
    rmSync(dir, { recursive: true, force: true }); // a broken cache entry: install again
  }
  mkdirSync(root, { recursive: true });
  const staging = mkdtempSync(join(root, `.${version}-installing-`));
  try {
    const failed = await npmInstall(cli, pkg, staging, opts.npm);
    if (failed) return failed;
    const staged = join(staging, 'node_modules', ...pkg.bin);
    if (!existsSync(staged)) return { kind: 'unavailable', cli, cause: 'broken', reason: `npm installed ${pkg.spec} but it has no executable at ${staged}` };
    const bad = await checkVersion(staged, version);
    if (bad) return { kind: 'unavailable', cli, cause: 'broken', reason: bad };
    const bytes = folderBytes(staging);
    chmodSync(staging, 0o755); // mkdtemp made it private
    try {
      renameSync(staging, dir);
    } catch (err) {
      // another process finished the same install first: use its copy
      if (!existsSync(bin)) throw err;
    }
    return { kind: 'installed', cli, bin, version, cached: false, bytes };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** `npm install` of the package into `staging`; an unavailable result when it failed. */
async function npmInstall(cli: CliName, pkg: CliPackage, staging: string, npmBin?: string): Promise<CliInstall | null> {
  writeFileSync(join(staging, 'package.json'), JSON.stringify({ private: true, description: `${CLI_TITLES[cli]} for coven's real-CLI check` }) + '\n');
  const npm = npmBin ?? (process.platform === 'win32' ? 'npm.cmd' : 'npm');
  const r = await exec(
    npm,
    ['install', '--ignore-scripts', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', '--fetch-retries=1', '--fetch-retry-maxtimeout=10000', pkg.spec],
    { cwd: staging, timeoutMs: 10 * 60_000 },
  );
  if (r.code === 0) return null;
  const output = (r.stderr + r.stdout).trim();
  const offline = looksOffline(output);
  const why = offline ? 'the npm registry cannot be reached' : `npm install ${pkg.spec} failed (exit ${r.code})`;
  return { kind: 'unavailable', cli, cause: offline ? 'offline' : 'broken', reason: `${why} (${npmErrorSummary(output)})` };
}

if (isEntry(import.meta.url)) {
  const [name, version] = process.argv.slice(2);
  if (!name || !isCliName(name)) {
    process.stderr.write('usage: node dist/test/real-cli/install-cli.js claude|codex|gemini|opencode [version]\n');
    process.exit(64);
  }
  const started = Date.now();
  installCli(name, { version }).then((r) => {
    if (r.kind === 'unavailable') {
      process.stderr.write(`${CLI_TITLES[name]} unavailable: ${r.reason}\n`);
      process.exit(2);
    }
    process.stderr.write(`${r.cached ? 'cached' : 'installed'} ${CLI_TITLES[name]} ${r.version} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    process.stdout.write(`${r.bin}\n`);
  });
}
