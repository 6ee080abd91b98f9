// repo — temporary real git repositories for tests, and a way to run the built CLI.
// Importing this module pins git's identity and config for this process and its
// children, so tests behave the same on a fresh CI machine as on a laptop.

import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

Object.assign(process.env, {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Author',
  GIT_COMMITTER_EMAIL: 'author@example.com',
  GIT_TERMINAL_PROMPT: '0',
});
delete process.env.GIT_DIR;
delete process.env.GIT_WORK_TREE;

/** dist/ root of the compiled project (this file is dist/test/helpers/repo.js). */
export const distRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** the project root (where package.json is). */
export const projectRoot = resolve(distRoot, '..');
/** the runnable command line, bin/coven (it loads dist/scripts/coven.js). */
export const covenBin = join(projectRoot, 'bin', 'coven');

const created: string[] = [];
process.on('exit', () => {
  if (process.env.COVEN_KEEP_TEST_DIRS) return;
  for (const d of created) rmSync(d, { recursive: true, force: true });
});

/** A new empty directory under the system temp dir, removed when the test process exits. */
export function tempDir(prefix = 'coven-test-'): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  created.push(d);
  return d;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program and collects its output; never rejects on a non-zero exit. */
export function run(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolveRun) => {
    const child = execFile(
      file,
      args,
      { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolveRun({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** `git <args>` in `cwd`; throws when git fails (tests set up state with it). */
export async function sh(cwd: string, ...args: string[]): Promise<string> {
  const r = await run('git', args, { cwd });
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed in ${cwd}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Runs the built `coven` CLI. */
export function coven(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return run(process.execPath, [covenBin, ...args], opts);
}

/** A new repository on branch `main` with one commit (README.md), inside a fresh temp dir. */
export async function tempRepo(name = 'project', opts: { commit?: boolean } = {}): Promise<string> {
  const repo = join(tempDir(), name);
  mkdirSync(repo, { recursive: true });
  await sh(repo, 'init', '-q', '-b', 'main');
  if (opts.commit !== false) await commitFile(repo, 'README.md', '# test\n', 'initial commit');
  return repo;
}

/** Writes `path` (creating folders) and commits it; returns the new commit id. */
export async function commitFile(dir: string, path: string, content: string, message = `edit ${path}`): Promise<string> {
  const full = join(dir, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
  await sh(dir, 'add', '--', path);
  await sh(dir, 'commit', '-q', '-m', message);
  return sh(dir, 'rev-parse', 'HEAD');
}
