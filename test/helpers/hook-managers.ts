// hook-managers — the real git hook managers that the foreign-setup tests run: husky and
// lefthook from the npm registry (pinned), installed once into a cache folder and reused
// by every test and every later run; pre-commit (Python) only when it is on PATH (it
// cannot come from npm; `apt-get install pre-commit` puts it there).
//
//   cache:  $COVEN_HOOK_MANAGERS_CACHE, else <project>/.cache/hook-managers (git-ignored)
//           <cache>/<key>/node_modules/{husky,lefthook-<platform>}   installed into a temp
//           folder beside it, then renamed: a cache folder is complete or absent
//   npm:    install --ignore-scripts: no package script runs (lefthook's postinstall
//           only runs `lefthook install` in the current repository); the lefthook binary
//           is taken from its per-platform package, as lefthook's own wrapper does
//   result: { kind: 'ready', … } or { kind: 'unavailable', reason } (offline, no binary)

import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { looksOffline, npmErrorSummary } from '../real-cli/install-cli.js';
import { waitForMainToMove } from '../../scripts/lib/worker/wait-for-main.js';
import { projectRoot, run } from './repo.js';

export const HUSKY_VERSION = '9.1.7';
export const LEFTHOOK_VERSION = '2.2.4';

export type HookManagers =
  | { kind: 'ready'; nodeModules: string; husky: string; lefthook: string; cached: boolean }
  | { kind: 'unavailable'; reason: string };

function lefthookPackage(): string | null {
  const os = { linux: 'linux', darwin: 'darwin', freebsd: 'freebsd', openbsd: 'openbsd' }[process.platform as string];
  const cpu = { x64: 'x64', arm64: 'arm64' }[process.arch as string];
  return os && cpu ? `lefthook-${os}-${cpu}` : null;
}

function paths(dir: string, pkg: string): { nodeModules: string; husky: string; lefthook: string } {
  const nodeModules = join(dir, 'node_modules');
  return { nodeModules, husky: join(nodeModules, 'husky', 'bin.js'), lefthook: join(nodeModules, pkg, 'bin', 'lefthook') };
}

function npm(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile('npm', args, { cwd, timeout: 5 * 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      done({ code, output: `${stderr}${stdout}` });
    });
  });
}

let once: Promise<HookManagers> | null = null;

/** husky and lefthook at the pinned versions, from the cache or installed into it now. */
export function hookManagers(): Promise<HookManagers> {
  once ??= install();
  return once;
}

async function install(): Promise<HookManagers> {
  const pkg = lefthookPackage();
  if (!pkg) return { kind: 'unavailable', reason: `lefthook ships no binary for ${process.platform}-${process.arch}` };
  const root = process.env.COVEN_HOOK_MANAGERS_CACHE ? resolve(process.env.COVEN_HOOK_MANAGERS_CACHE) : join(projectRoot, '.cache', 'hook-managers');
  const dir = join(root, `husky-${HUSKY_VERSION}-lefthook-${LEFTHOOK_VERSION}`);
  if (existsSync(paths(dir, pkg).lefthook) && existsSync(paths(dir, pkg).husky)) return { kind: 'ready', ...paths(dir, pkg), cached: true };
  mkdirSync(root, { recursive: true });
  const staging = mkdtempSync(join(root, '.installing-'));
  try {
    writeFileSync(join(staging, 'package.json'), '{ "private": true }\n');
    const specs = [`husky@${HUSKY_VERSION}`, `lefthook@${LEFTHOOK_VERSION}`, `${pkg}@${LEFTHOOK_VERSION}`];
    const r = await npm(['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', '--fetch-retries=1', ...specs], staging);
    if (r.code !== 0) {
      const why = looksOffline(r.output) ? 'the npm registry cannot be reached' : `npm install ${specs.join(' ')} failed (exit ${r.code})`;
      return { kind: 'unavailable', reason: `${why} (${npmErrorSummary(r.output)})` };
    }
    const version = await run(paths(staging, pkg).lefthook, ['version']);
    if (!version.stdout.startsWith(LEFTHOOK_VERSION)) return { kind: 'unavailable', reason: `lefthook version printed ${JSON.stringify(version.stdout + version.stderr)}` };
    try {
      renameSync(staging, dir);
    } catch (err) {
      if (!existsSync(paths(dir, pkg).lefthook)) throw err; // else another run finished first
    }
    return { kind: 'ready', ...paths(dir, pkg), cached: false };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Makes the packages visible to a test repository the way `npm install` would (node_modules at its top, git-ignored). */
export function linkNodeModules(repo: string, m: Extract<HookManagers, { kind: 'ready' }>): void {
  symlinkSync(m.nodeModules, join(repo, 'node_modules'));
  writeFileSync(join(repo, '.gitignore'), 'node_modules\n');
}

/** Whether the Python pre-commit tool is on PATH (it cannot be installed from npm). */
export async function preCommitVersion(): Promise<string | null> {
  const r = await run('pre-commit', ['--version']).catch(() => null);
  return r && r.code === 0 ? r.stdout.trim() : null;
}

/** name → mode and bytes of every entry in a folder (what a manager or coven wrote; mtimes left out). */
export function folderSnapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const st = lstatSync(join(dir, name));
    out[name] = st.isSymbolicLink() ? `link ${readlinkSync(join(dir, name))}` : `${(st.mode & 0o777).toString(8)} ${readFileSync(join(dir, name)).toString('base64')}`;
  }
  return out;
}

/**
 * Starts a worker's wait for main to move (both watches on, as a worker waits), runs
 * `move`, and says how it woke (`ref`: the ref watch, `wake`: the hook's wake file)
 * and how long after `move` started.
 */
export async function wakeAfter(repo: string, move: () => Promise<unknown>): Promise<{ via: string; ms: number }> {
  const baseline = (await run('git', ['rev-parse', 'refs/heads/main'], { cwd: repo })).stdout.trim();
  let ready!: () => void;
  const watching = new Promise<void>((r) => (ready = r));
  const done = waitForMainToMove({ repo, mainBranch: 'main', baseline, safetyIntervalMs: 30_000, onWatching: ready });
  await Promise.race([watching, done]);
  const started = performance.now();
  await move();
  const r = await done;
  return { via: r.kind === 'moved' ? r.via : r.kind, ms: performance.now() - started };
}
