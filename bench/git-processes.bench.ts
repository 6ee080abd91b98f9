// git-processes.bench — how many git processes one `coven spawn` and one `coven land`
// start, against the raw git commands a user would type for the same work.
// A `git` first on PATH logs its arguments to a file and runs the real git; coven runs as
// a process (the built CLI), so every git it starts, in any child, is counted.
//
//   land:  a worktree with one commit, main moved by one commit, the user's checkout
//          clean: `coven land --keep`, and `coven land` (which also removes the worktree
//          and its branch). Raw git: `git rebase main` + `git merge --ff-only` (2).
//   spawn: `coven spawn <branch>` with nothing ignored to copy. Raw git: `git worktree
//          add -b` (1).
//   env:   GIT_COUNT_LOG=1  also print each git command line
//   prints: the count and the commands, by subcommand; never asserts

import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchGitEnv } from './git-env.js';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(dist, '..', 'bin', 'coven');
const realGit = spawnSync('/bin/sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
const base = mkdtempSync(join(process.env.BENCH_TMPDIR ?? tmpdir(), 'coven-git-count-'));
const log = join(base, 'git.log');
const wrapper = join(base, 'bin');
mkdirSync(wrapper);
writeFileSync(join(wrapper, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${realGit}' "$@"\n`);
chmodSync(join(wrapper, 'git'), 0o755);

const env = { ...benchGitEnv, COVEN_WORKTREE_BASE: join(base, 'wt') };
const counted = { ...env, PATH: `${wrapper}${delimiter}${process.env.PATH ?? ''}` };

function run(cwd: string, file: string, args: string[], e: NodeJS.ProcessEnv = env): void {
  const r = spawnSync(file, args, { cwd, env: e, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed in ${cwd}: ${r.stderr}${r.stdout}`);
}
const git = (cwd: string, ...args: string[]) => run(cwd, realGit, args);

/** Runs `fn` and returns the git command lines it started. */
function counting(fn: () => void): string[] {
  writeFileSync(log, '');
  fn();
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

function report(label: string, lines: string[]): void {
  const bySub = new Map<string, number>();
  for (const l of lines) {
    const sub = l.split(' ').find((w) => !w.startsWith('-')) ?? l;
    bySub.set(sub, (bySub.get(sub) ?? 0) + 1);
  }
  const parts = [...bySub].map(([s, k]) => (k > 1 ? `${s} ×${k}` : s)).join(', ');
  console.log(`${label.padEnd(34)} ${String(lines.length).padStart(3)} git   (${parts})`);
  if (process.env.GIT_COUNT_LOG) for (const l of lines) console.log(`    git ${l}`);
}

try {
  const repo = join(base, 'project');
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'a.txt'), 'a\n');
  writeFileSync(join(repo, 'b.txt'), 'b\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');

  report('coven spawn', counting(() => run(repo, process.execPath, [cli, 'spawn', 'coven/one'], counted)));
  report('raw: git worktree add -b', counting(() => run(repo, 'git', ['worktree', 'add', '-q', '-b', 'raw', join(base, 'raw')], counted)));

  const wt = join(base, 'wt', 'project', 'coven', 'one');
  const landOnce = (keep: boolean) => {
    appendFileSync(join(repo, 'a.txt'), 'main\n');
    git(repo, 'commit', '-q', '-am', 'main moves');
    appendFileSync(join(wt, 'b.txt'), 'worker\n');
    git(wt, 'commit', '-q', '-am', 'worker');
    return counting(() => run(wt, process.execPath, [cli, 'land', ...(keep ? ['--keep'] : [])], counted));
  };
  report('coven land --keep', landOnce(true));
  report('coven land (removes the worktree)', landOnce(false));
  appendFileSync(join(repo, 'a.txt'), 'main\n');
  git(repo, 'commit', '-q', '-am', 'main moves');
  appendFileSync(join(base, 'raw', 'b.txt'), 'worker\n');
  git(join(base, 'raw'), 'commit', '-q', '-am', 'worker');
  report(
    'raw: git rebase + merge --ff-only',
    counting(() => {
      run(join(base, 'raw'), 'git', ['rebase', '-q', 'main'], counted);
      run(repo, 'git', ['merge', '-q', '--ff-only', 'raw'], counted);
    }),
  );
} finally {
  rmSync(base, { recursive: true, force: true });
}
