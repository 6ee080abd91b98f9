// land.bench — how long `coven land` takes against the commands a user would type for
// the same land: `git rebase main` in the worktree, then `git -C <main worktree> merge
// --ff-only <branch>`.  Each run lands one commit after main gained one commit (so the
// rebase has work to do).  coven runs as a process (the standalone bundle and the
// built CLI, both with --keep), so its start-up is included.
//
//   env:    LAND_BENCH_RUNS (default 15), LAND_BENCH_FILES (default 2000),
//           LAND_BENCH_ALT=<file.mjs>  also time another build of the bundle (to compare)
//           LAND_BENCH_ALT_CLI=<coven.js>  also time another build of the CLI (`<coven.js> land`)
//           BENCH_TMPDIR  where the repositories go (default: the system temp dir)
//   prints: medians per repository size and the ratio coven / raw git; never asserts

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchGitEnv } from './git-env.js';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(dist, 'standalone', 'land-worktree.mjs');
const cli = join(dist, '..', 'bin', 'coven');
const runs = Number(process.env.LAND_BENCH_RUNS ?? 15);
const bigFiles = Number(process.env.LAND_BENCH_FILES ?? 2000);
const alt = process.env.LAND_BENCH_ALT;
const altCli = process.env.LAND_BENCH_ALT_CLI;

const env = benchGitEnv;

function sh(cwd: string, file: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(file, args, { cwd, env, encoding: 'utf8' });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed in ${cwd}: ${r.stderr}${r.stdout}`);
  return ms;
}
const git = (cwd: string, ...args: string[]) => sh(cwd, 'git', args);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A repository with `files` tracked files (about 1 KiB each, 50 per folder). */
function makeRepo(base: string, files: number): string {
  const repo = join(base, 'project');
  mkdirSync(repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  const line = 'the quick brown fox jumps over the lazy dog 0123456789\n'.repeat(18);
  for (let i = 0; i < files; i++) {
    const dir = join(repo, 'src', `m${Math.floor(i / 50)}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.ts`), `// file ${i}\n${line}`);
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');
  return repo;
}

let n = 0;
/** One commit on main and one in the worktree, touching different files. */
function prepareLand(repo: string, wt: string): void {
  n++;
  appendFileSync(join(repo, 'src', 'm0', 'f0.ts'), `// main ${n}\n`);
  git(repo, 'commit', '-q', '-am', `main ${n}`);
  appendFileSync(join(wt, 'src', 'm0', 'f1.ts'), `// worker ${n}\n`);
  git(wt, 'commit', '-q', '-am', `worker ${n}`);
}

function bench(label: string, files: number): void {
  const base = mkdtempSync(join(process.env.BENCH_TMPDIR ?? tmpdir(), 'coven-land-bench-'));
  try {
    const repo = makeRepo(base, files);
    const names = ['raw', 'bundle', 'cli', ...(alt ? ['alt'] : []), ...(altCli ? ['altCli'] : [])];
    const wts: Record<string, string> = {};
    for (const name of names) {
      wts[name] = join(base, 'wt', name);
      git(repo, 'worktree', 'add', '-q', '--track', '-b', `coven/${name}`, wts[name]!, 'main');
    }
    const times: Record<string, number[]> = { raw: [], bundle: [], cli: [], startup: [], ...(alt ? { alt: [] } : {}), ...(altCli ? { altCli: [] } : {}) };
    for (let i = 0; i < runs + 1; i++) {
      const t: Record<string, number> = {};
      // the same order of work every run; the first run warms caches and is dropped
      for (const name of names) {
        const wt = wts[name]!;
        git(wt, 'merge', '-q', '--ff-only', 'main'); // start from main's tip, like a fresh worker
        prepareLand(repo, wt);
        if (name === 'raw') t.raw = git(wt, 'rebase', '-q', 'main') + git(repo, 'merge', '-q', '--ff-only', `coven/${name}`);
        else if (name === 'bundle') t.bundle = sh(wt, process.execPath, [bundle, '--keep']);
        else if (name === 'cli') t.cli = sh(wt, process.execPath, [cli, 'land', '--keep']);
        else if (name === 'altCli') t.altCli = sh(wt, process.execPath, [altCli!, 'land', '--keep']);
        else t.alt = sh(wt, process.execPath, [alt!, '--keep']);
      }
      t.startup = sh(wts.raw!, process.execPath, [bundle, '--help']);
      if (i > 0) for (const k of Object.keys(times)) times[k]!.push(t[k]!);
    }
    const raw = median(times.raw!);
    const b = median(times.bundle!);
    const c = median(times.cli!);
    const s = median(times.startup!);
    console.log(`${label} (${files} tracked files, median of ${runs} runs)`);
    console.log(`  raw git (rebase + merge --ff-only)   ${raw.toFixed(0).padStart(5)} ms`);
    console.log(`  coven standalone --keep              ${b.toFixed(0).padStart(5)} ms   ${(b / raw).toFixed(2)}× raw`);
    console.log(`  coven land --keep (built CLI)        ${c.toFixed(0).padStart(5)} ms   ${(c / raw).toFixed(2)}× raw`);
    console.log(`  of which start-up (bundle --help)    ${s.toFixed(0).padStart(5)} ms`);
    if (alt) {
      const a = median(times.alt!);
      console.log(`  alternative bundle --keep            ${a.toFixed(0).padStart(5)} ms   ${(a / raw).toFixed(2)}× raw   (${alt})`);
    }
    if (altCli) {
      const a = median(times.altCli!);
      console.log(`  alternative CLI land --keep          ${a.toFixed(0).padStart(5)} ms   ${(a / raw).toFixed(2)}× raw   (${altCli})`);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

const node0 = median(Array.from({ length: 7 }, () => sh(tmpdir(), process.execPath, ['-e', '0'])));
console.log(`node -e 0 (bare node start-up): ${node0.toFixed(0)} ms`);
bench('realistic repo', bigFiles);
bench('tiny repo', 2);
