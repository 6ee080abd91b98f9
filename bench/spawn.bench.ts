// spawn.bench — how long `coven spawn` takes on a repository whose node_modules holds
// 20,000 small files, against the raw pair it replaces:
//   git worktree add -b x <path>  +  cp -a node_modules <path>/
// Every variant runs as a process (coven's start-up included), runs alternate, and the
// median of several runs is printed with its ratio to the raw pair. Measures, never asserts.
//
//   env:   BENCH_RUNS    runs per variant (default 7)
//          BENCH_TMPDIR  where the repository and worktrees go (default: the system temp dir;
//                        /dev/shm measures the CPU cost alone, without the disk)
//          SPAWN_BENCH_ALT=<file.mjs>  also time another build of the standalone bundle
//          SPAWN_BENCH_ALT_CLI=<coven.js>  also time another build of the CLI (`<coven.js> spawn`)
//   files: a temporary repository there, removed at the end

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchGitEnv } from './git-env.js';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 7));
const gitEnv = benchGitEnv;

function sh(cwd: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = gitEnv): void {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

/** 20,000 files of 200-3,000 bytes in 400 packages (50 scoped), nested lib folders, an executable per package, 100 .bin symlinks. */
function makeNodeModules(root: string): number {
  const nm = join(root, 'node_modules');
  mkdirSync(join(nm, '.bin'), { recursive: true });
  let seed = 1;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  let files = 0;
  for (let p = 0; p < 400; p++) {
    const name = p < 50 ? `@scope${p % 5}/pkg${p}` : `pkg${p}`;
    const dir = join(nm, name);
    const paths = ['package.json', 'README.md', 'index.js', 'LICENSE', 'bin/cli.js'];
    for (let i = 0; i < 20; i++) paths.push(`lib/m${i}.js`);
    for (let i = 0; i < 15; i++) paths.push(`lib/sub/deep/s${i}.js`);
    for (let i = 0; i < 10; i++) paths.push(`dist/d${i}.js`);
    for (const f of paths) {
      const full = join(dir, f);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, 'x'.repeat(200 + Math.floor(random() * 2800)));
      files++;
    }
    chmodSync(join(dir, 'bin/cli.js'), 0o755);
    if (p % 4 === 0) symlinkSync(`../${name}/bin/cli.js`, join(nm, '.bin', `cli${p}`));
  }
  return files;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const root = mkdtempSync(join(process.env.BENCH_TMPDIR || tmpdir(), 'coven-bench-spawn-'));
try {
  const repo = join(root, 'app');
  mkdirSync(repo);
  sh(repo, 'git', ['init', '-q', '-b', 'main']);
  writeFileSync(join(repo, '.gitignore'), 'node_modules/\n');
  for (let i = 0; i < 50; i++) {
    mkdirSync(join(repo, 'src'), { recursive: true });
    writeFileSync(join(repo, 'src', `f${i}.ts`), `export const x${i} = ${i};\n`);
  }
  sh(repo, 'git', ['add', '.']);
  sh(repo, 'git', ['commit', '-q', '-m', 'init']);
  const files = makeNodeModules(repo);
  const base = join(root, 'wt');
  mkdirSync(base);

  const cli = join(dist, '..', 'bin', 'coven');
  const standalone = join(dist, 'standalone', 'spawn-worktree.mjs');
  const ran = (cmd: string, args: string[], env: NodeJS.ProcessEnv = gitEnv) => spawnSync(cmd, args, { cwd: repo, env, stdio: 'ignore' }).status === 0;
  /** one run of a variant: creates branch `<tag>-<i>` and its worktree; true when it worked */
  const spawnWith = (tag: string, script: string[], threads?: number) => (i: number) => {
    const env = threads ? { ...gitEnv, COVEN_COPY_THREADS: String(threads) } : gitEnv;
    return ran(process.execPath, [...script, `${tag}-${i}`, '--worktree-base', base], env);
  };
  const variants: { name: string; tag: string; run: (i: number) => boolean }[] = [
    {
      name: 'raw: git worktree add + cp -a node_modules',
      tag: 'raw',
      run: (i) => ran('git', ['worktree', 'add', '-q', '-b', `raw-${i}`, join(base, 'app', `raw-${i}`)]) && ran('cp', ['-a', 'node_modules', `${join(base, 'app', `raw-${i}`)}/`]),
    },
    { name: 'coven spawn (CLI)', tag: 'cli', run: spawnWith('cli', [cli, 'spawn']) },
    { name: 'spawn-worktree.mjs (standalone bundle)', tag: 'sa', run: spawnWith('sa', [standalone]) },
    { name: 'coven spawn, COVEN_COPY_THREADS=1', tag: 't1', run: spawnWith('t1', [cli, 'spawn'], 1) },
    { name: 'coven spawn, COVEN_COPY_THREADS=4', tag: 't4', run: spawnWith('t4', [cli, 'spawn'], 4) },
    ...(process.env.SPAWN_BENCH_ALT ? [{ name: `alternative bundle (${process.env.SPAWN_BENCH_ALT})`, tag: 'alt', run: spawnWith('alt', [process.env.SPAWN_BENCH_ALT]) }] : []),
    ...(process.env.SPAWN_BENCH_ALT_CLI ? [{ name: `alternative CLI (${process.env.SPAWN_BENCH_ALT_CLI})`, tag: 'altcli', run: spawnWith('altcli', [process.env.SPAWN_BENCH_ALT_CLI, 'spawn']) }] : []),
  ];

  const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  console.log(`repo in ${root}: ${files} files in node_modules; ${runs} runs per variant, alternating`);
  for (let i = 0; i < runs; i++) {
    for (const v of variants) {
      spawnSync('sync'); // the previous run's writes are not this run's cost
      const started = performance.now();
      if (!v.run(i)) throw new Error(`${v.name} failed on run ${i}`);
      times.get(v.name)!.push(performance.now() - started);
      const path = join(base, 'app', `${v.tag}-${i}`);
      sh(repo, 'git', ['worktree', 'remove', '--force', path]);
      sh(repo, 'git', ['branch', '-D', '-q', `${v.tag}-${i}`]);
      rmSync(path, { recursive: true, force: true });
    }
  }
  const raw = median(times.get(variants[0]!.name)!);
  for (const v of variants) {
    const t = times.get(v.name)!;
    const m = median(t);
    console.log(`${v.name.padEnd(45)} median ${m.toFixed(0).padStart(5)} ms  (min ${Math.min(...t).toFixed(0)}, max ${Math.max(...t).toFixed(0)})  ratio ${(m / raw).toFixed(2)}× raw`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
