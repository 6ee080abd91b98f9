// git-daemon — a real git server for remote-mode tests: `git daemon --enable=receive-pack`
// serving bare repositories on loopback, which a test can stop (the network is cut: every
// fetch, ls-remote and push is refused at once) and start again on the same port. A
// "machine" is a clone of the served repository with its own git dir and state dir.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { sh, tempDir } from './repo.js';

export interface GitDaemon {
  /** the folder the daemon serves (`<base>/<name>.git` is `git://127.0.0.1:<port>/<name>.git`) */
  base: string;
  port: number;
  url(name: string): string;
  /** stops the daemon and every upload-pack/receive-pack it started (a push in flight is cut; the server's ref locks are left clean) */
  stop(): Promise<void>;
  /** starts it again on the same port */
  start(): Promise<void>;
  readonly running: boolean;
  /** the daemon's pid while it runs (its children are in its process group) */
  readonly pid: number | null;
}

export interface GitDaemonOptions {
  /** `git daemon --verbose`: every line it logs (a connection, each request) */
  onLog?: (line: string) => void;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) killGroup(c);
});

function killGroup(c: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    if (c.pid !== undefined) process.kill(-c.pid, signal);
  } catch {
    // gone already
  }
}

function logLines(c: ChildProcess, onLog: (line: string) => void): void {
  let rest = '';
  c.stderr?.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) onLog(l);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port }, () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** Starts `git daemon` on a free loopback port, serving `base` (default: a new temp folder). */
export async function startGitDaemon(base = join(tempDir('coven-remote-'), 'srv'), opts: GitDaemonOptions = {}): Promise<GitDaemon> {
  mkdirSync(base, { recursive: true });
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    if (child) return;
    for (let attempt = 0; attempt < 50; attempt++) {
      const verbose = opts.onLog ? ['--verbose'] : [];
      const c = spawn('git', ['daemon', ...verbose, '--reuseaddr', `--base-path=${base}`, '--export-all', '--enable=receive-pack', '--informative-errors', '--listen=127.0.0.1', `--port=${port}`, base], { detached: true, stdio: ['ignore', 'ignore', opts.onLog ? 'pipe' : 'ignore'] });
      live.add(c);
      if (opts.onLog) logLines(c, opts.onLog);
      for (let i = 0; i < 40; i++) {
        if (await answers(port)) {
          child = c;
          return;
        }
        if (c.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      killGroup(c);
      live.delete(c);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`git daemon did not start on port ${port}`);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    child = null;
    const exited = new Promise((r) => c.once('exit', r));
    // SIGTERM first: a receive-pack cut mid-push removes its ref lock files as it dies, as
    // one whose client vanished would (SIGKILL would leave them: a crashed server, every
    // later push of that ref refused until someone removes the lock); then SIGKILL
    killGroup(c, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    killGroup(c);
    live.delete(c);
    if (c.exitCode === null && c.signalCode === null) await exited;
    for (let i = 0; i < 40 && (await answers(port)); i++) await new Promise((r) => setTimeout(r, 25));
  };
  await start();
  return {
    base,
    port,
    url: (name) => `git://127.0.0.1:${port}/${name}.git`,
    stop,
    start,
    get running() {
      return child !== null;
    },
    get pid() {
      return child?.pid ?? null;
    },
  };
}

/**
 * A bare repository `<name>.git` under the daemon's folder holding `seed`'s branches (push
 * of every branch), and the daemon's URL for it.
 */
export async function serveRepository(daemon: GitDaemon, seed: string, name = 'project'): Promise<string> {
  const bare = join(daemon.base, `${name}.git`);
  await sh(daemon.base, 'init', '-q', '--bare', '-b', 'main', bare);
  await sh(seed, 'push', '-q', bare, 'refs/heads/*:refs/heads/*');
  return daemon.url(name);
}

/** A "machine": a new clone of `url` in a folder of its own (own git dir, own state dir). */
export async function machineClone(url: string, name: string): Promise<string> {
  const dir = join(tempDir(`coven-${name}-`), 'project');
  await sh(tempDir(), 'clone', '-q', url, dir);
  await sh(dir, 'config', 'user.email', `${name}@example.com`);
  await sh(dir, 'config', 'user.name', name);
  return dir;
}
