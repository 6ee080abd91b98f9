// install-claude — puts a pinned Claude Code CLI in a cache folder, from the npm
// registry only, and says where its `claude` executable is.
//
// The npm package @anthropic-ai/claude-code is a thin wrapper: its postinstall copies
// the native binary out of a per-platform optional dependency
// (@anthropic-ai/claude-code-linux-x64, …), and that platform package alone holds the
// whole CLI as one executable file named `claude`. So we install only the platform
// package, with --ignore-scripts: no install script runs and nothing is downloaded
// from outside the registry.
//
//   inputs: version (default CLAUDE_CLI_VERSION), cache root (default
//           $COVEN_CLAUDE_CACHE, else $XDG_CACHE_HOME/coven/claude-cli when set, else
//           <project>/.cache/claude-cli)
//   files:  <cache root>/<version>/node_modules/@anthropic-ai/claude-code-<platform>/claude
//           (installed into a temp folder beside it, then renamed: a cache folder is
//           complete or absent)
//   result: { kind: 'installed', claude, version, cached } or
//           { kind: 'unavailable', cause, reason }; cause: 'offline' (the registry cannot
//           be reached: looksOffline), 'no-binary' (no package for this platform),
//           'broken' (npm failed otherwise — an HTTP error, bad JSON, a bad tarball — or
//           the binary does not run)
//   keepCache: a cached binary that fails its --version check is reported broken
//           instead of removed and installed again (for callers that run side by side)
//   also runs alone: node dist/test/real-cli/install-claude.js [version]  (prints the path)

import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isEntry } from '../../scripts/lib/ui/entry.js';

/** The version the reference (shared/reference/claude-cli.md) was observed with. */
export const CLAUDE_CLI_VERSION = '2.1.197';

export type ClaudeInstall =
  | { kind: 'installed'; claude: string; version: string; cached: boolean }
  | { kind: 'unavailable'; cause: 'offline' | 'no-binary' | 'broken'; reason: string };

const here = dirname(fileURLToPath(import.meta.url));
/** the project root: this file is <root>/dist/test/real-cli/install-claude.js once built */
const projectRoot = resolve(here, '..', '..', '..');

export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.COVEN_CLAUDE_CACHE) return resolve(env.COVEN_CLAUDE_CACHE);
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'coven', 'claude-cli');
  return join(projectRoot, '.cache', 'claude-cli');
}

/** The npm package holding the native binary for this machine, or null when there is none. */
export function platformPackage(platform: NodeJS.Platform = process.platform, arch: string = process.arch, musl = isMusl()): string | null {
  const supported: Record<string, string[]> = { linux: ['x64', 'arm64'], darwin: ['x64', 'arm64'], win32: ['x64', 'arm64'] };
  if (!supported[platform]?.includes(arch)) return null;
  return `@anthropic-ai/claude-code-${platform}-${arch}${platform === 'linux' && musl ? '-musl' : ''}`;
}

function isMusl(): boolean {
  if (process.platform !== 'linux') return false;
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  return report.header?.glibcVersionRuntime === undefined;
}

/** Where the executable lives inside an installed cache folder. */
function binaryPath(dir: string, pkg: string): string {
  return join(dir, 'node_modules', ...pkg.split('/'), process.platform === 'win32' ? 'claude.exe' : 'claude');
}

interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], opts: { cwd?: string; timeoutMs: number }): Promise<Exec> {
  return new Promise((done) => {
    execFile(file, args, { cwd: opts.cwd, timeout: opts.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) + (err && code === 1 && !stderr ? err.message : '') });
    });
  });
}

/** `claude --version` must print the pinned version; anything else means the binary is unusable here. */
async function checkVersion(claude: string, version: string): Promise<string | null> {
  const r = await exec(claude, ['--version'], { timeoutMs: 30_000 });
  if (r.code === 0 && r.stdout.startsWith(`${version} `)) return null;
  return `${claude} --version printed ${JSON.stringify((r.stdout + r.stderr).trim().slice(0, 200))} (exit ${r.code}), expected ${version}`;
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

/** Installs (or finds in the cache) the pinned CLI and returns its executable. */
export async function installClaude(opts: { version?: string; cacheRoot?: string; npm?: string; keepCache?: boolean } = {}): Promise<ClaudeInstall> {
  const version = opts.version ?? CLAUDE_CLI_VERSION;
  const cacheRoot = opts.cacheRoot ?? defaultCacheRoot();
  const pkg = platformPackage();
  if (!pkg) return { kind: 'unavailable', cause: 'no-binary', reason: `Claude Code ships no binary for ${process.platform}-${process.arch}` };

  const dir = join(cacheRoot, version);
  const claude = binaryPath(dir, pkg);
  if (existsSync(claude)) {
    const bad = await checkVersion(claude, version);
    if (!bad) return { kind: 'installed', claude, version, cached: true };
    if (opts.keepCache) return { kind: 'unavailable', cause: 'broken', reason: `the cached CLI does not run: ${bad} (left as it is; npm run test:real-cli installs it again)` };
    rmSync(dir, { recursive: true, force: true }); // a broken cache entry: install again
  }

  mkdirSync(cacheRoot, { recursive: true });
  const staging = mkdtempSync(join(cacheRoot, `.${version}-installing-`));
  try {
    writeFileSync(join(staging, 'package.json'), JSON.stringify({ private: true, description: `Claude Code CLI ${version} for coven's real-CLI check` }) + '\n');
    const npm = opts.npm ?? (process.platform === 'win32' ? 'npm.cmd' : 'npm');
    const r = await exec(
      npm,
      ['install', '--ignore-scripts', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', '--fetch-retries=1', '--fetch-retry-maxtimeout=10000', `${pkg}@${version}`],
      { cwd: staging, timeoutMs: 10 * 60_000 },
    );
    const output = (r.stderr + r.stdout).trim();
    if (r.code !== 0) {
      const offline = looksOffline(output);
      const why = offline ? 'the npm registry cannot be reached' : `npm install ${pkg}@${version} failed (exit ${r.code})`;
      return { kind: 'unavailable', cause: offline ? 'offline' : 'broken', reason: `${why} (${npmErrorSummary(output)})` };
    }
    const staged = binaryPath(staging, pkg);
    if (!existsSync(staged)) return { kind: 'unavailable', cause: 'broken', reason: `npm installed ${pkg}@${version} but it has no executable at ${staged}` };
    const bad = await checkVersion(staged, version);
    if (bad) return { kind: 'unavailable', cause: 'broken', reason: bad };
    chmodSync(staging, 0o755); // mkdtemp made it private
    try {
      renameSync(staging, dir);
    } catch (err) {
      // another process finished the same install first: use its copy
      if (!existsSync(claude)) throw err;
    }
    return { kind: 'installed', claude, version, cached: false };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** npm's error code and its one-line message, without the stack and the advice. */
export function npmErrorSummary(output: string): string {
  const lines = output.split('\n').map((l) => l.replace(/^npm (error|ERR!) ?/, '')).filter((l) => l.trim() && !/^\s/.test(l) && !/^[{}]/.test(l));
  const code = lines.find((l) => /^code /.test(l));
  const message = lines.find((l) => /Error|request to|No matching|notarget|404|ETARGET/i.test(l) && l !== code);
  return [code, message].filter(Boolean).join(': ') || lines.slice(-3).join(' | ');
}

if (isEntry(import.meta.url)) {
  const started = Date.now();
  installClaude({ version: process.argv[2] }).then((r) => {
    if (r.kind === 'unavailable') {
      process.stderr.write(`claude CLI unavailable: ${r.reason}\n`);
      process.exit(2);
    }
    process.stderr.write(`${r.cached ? 'cached' : 'installed'} Claude Code ${r.version} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    process.stdout.write(`${r.claude}\n`);
  });
}
