// git-wrapper — a `git` on PATH that runs a test's shell snippet around the real git,
// to force a race at an exact moment (another process moving main, or creating a
// branch, just before the command under test) instead of hoping for one.
//
// The snippet runs with "$@" being git's arguments and $REAL_GIT the real git; it ends by
// running the real command itself or falls through to `exec "$REAL_GIT" "$@"`.

import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { tempDir } from './repo.js';

const realGit = execFileSync('/bin/sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();

/** A folder holding the wrapper; put it first on PATH (see `pathWith`, `withGitWrapper`). */
export function gitWrapper(snippet: string): string {
  const dir = tempDir('coven-git-wrapper-');
  writeFileSync(join(dir, 'git'), `#!/bin/sh\nREAL_GIT='${realGit}'\n${snippet}\nexec "$REAL_GIT" "$@"\n`);
  chmodSync(join(dir, 'git'), 0o755);
  return dir;
}

/** PATH with `dir` first, for a child process's env. */
export function pathWith(dir: string): string {
  return `${dir}${delimiter}${process.env.PATH ?? ''}`;
}

/** Runs `fn` with the wrapper first on this process's PATH (in-process calls run git through it). */
export async function withGitWrapper<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = pathWith(dir);
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}
