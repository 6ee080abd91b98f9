// setup-guard.bench — what guarding the git setup costs a worker (lib/git/setup-guard):
// the snapshot before a session, and the check (and undo, when nothing changed: none)
// after it and before a land. In a repository with 4 linked worktrees, a common config
// of 20 entries, 2 hooks and a global config file of 10 entries. In-process, as the
// worker calls them. Prints the median and the slowest of 20 rounds; never asserts.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchGitEnv } from './git-env.js';
import { guardGitSetup, undoSetupChanges } from '../scripts/lib/git/setup-guard.js';

const base = mkdtempSync(join(process.env.BENCH_TMPDIR ?? tmpdir(), 'coven-setup-guard-'));
const global = join(base, 'gitconfig');
writeFileSync(global, `[user]\n${Array.from({ length: 10 }, (_, i) => `\tkey${i} = value ${i}\n`).join('')}`);
Object.assign(process.env, benchGitEnv, { GIT_CONFIG_GLOBAL: global });

const repo = join(base, 'repo');
mkdirSync(repo);
const git = (...args: string[]) => {
  const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
};
git('init', '-q', '-b', 'main');
git('commit', '-q', '--allow-empty', '-m', 'first');
for (let i = 0; i < 16; i++) git('config', `bench.key${i}`, `value ${i}`);
for (const name of ['post-commit', 'post-merge']) writeFileSync(join(repo, '.git', 'hooks', name), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
for (let i = 0; i < 4; i++) git('worktree', 'add', '-q', '-b', `coven/w${i}`, join(base, `w${i}`), 'main');

const stateDir = join(repo, '.git', 'coven');
const snap: number[] = [];
const check: number[] = [];
for (let round = 0; round < 20; round++) {
  let t = performance.now();
  const before = await guardGitSetup(join(base, 'w0'));
  snap.push(performance.now() - t);
  t = performance.now();
  const changes = await undoSetupChanges(before!, stateDir);
  check.push(performance.now() - t);
  if (changes.length > 0) throw new Error('nothing changed, yet the guard undid something');
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(1);
const max = (xs: number[]) => Math.max(...xs).toFixed(1);
console.log(`snapshot before a session: median ${median(snap)} ms, slowest ${max(snap)} ms`);
console.log(`check after it (or before a land), nothing to undo: median ${median(check)} ms, slowest ${max(check)} ms`);
