// land-cpu — one land (`<build> land --keep`, one commit after main gained one) by two
// or more builds of coven, alternating, with the CPU time it cost (user + system of the
// process and every process it waited for: git, sh), which a busy machine inflates far
// less than wall time. A measuring tool for comparing builds side by side, run by hand:
//
//   node dist/bench/land-cpu.js <runs> <label>=<coven.js or bundle.mjs> …
//   prints: per build, median wall ms and median CPU ms; never asserts

import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchGitEnv } from './git-env.js';

const [runsArg, ...builds] = process.argv.slice(2);
const runs = Number(runsArg ?? 11);
const variants = builds.map((b) => {
  const [label, file] = b.split('=') as [string, string];
  return { label, file, args: file.endsWith('.mjs') ? ['--keep'] : ['land', '--keep'], wall: [] as number[], cpu: [] as number[] };
});
const env = benchGitEnv;

/** CPU ms of the children this process has waited for (Linux: /proc/self/stat cutime + cstime). */
function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}
function run(cwd: string, file: string, args: string[]): void {
  const r = spawnSync(file, args, { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const base = mkdtempSync(join(tmpdir(), 'coven-land-cpu-'));
try {
  const repo = join(base, 'repo');
  mkdirSync(join(repo, 'src'), { recursive: true });
  run(repo, 'git', ['init', '-q', '-b', 'main']);
  for (let i = 0; i < 2000; i++) writeFileSync(join(repo, 'src', `f${i}.txt`), `${i}\n`.repeat(50));
  run(repo, 'git', ['add', '-A']);
  run(repo, 'git', ['commit', '-q', '-m', 'init']);
  let n = 0;
  for (const v of variants) run(repo, 'git', ['worktree', 'add', '-q', '--track', '-b', `coven/${v.label}`, join(base, v.label), 'main']);
  for (let i = 0; i <= runs; i++) {
    for (const v of variants) {
      const wt = join(base, v.label);
      run(wt, 'git', ['merge', '-q', '--ff-only', 'main']);
      appendFileSync(join(repo, 'src', 'f0.txt'), `main ${++n}\n`);
      run(repo, 'git', ['commit', '-q', '-am', `main ${n}`]);
      appendFileSync(join(wt, 'src', 'f1.txt'), `worker ${n}\n`);
      run(wt, 'git', ['commit', '-q', '-am', `worker ${n}`]);
      const cpu0 = childrenCpuMs();
      const t0 = performance.now();
      run(wt, process.execPath, [v.file, ...v.args]);
      if (i === 0) continue; // warm-up
      v.wall.push(performance.now() - t0);
      v.cpu.push(childrenCpuMs() - cpu0);
    }
  }
  for (const v of variants) console.log(`${v.label.padEnd(16)} wall ${median(v.wall).toFixed(0).padStart(5)} ms   CPU ${median(v.cpu).toFixed(0).padStart(5)} ms   (${v.file}, median of ${runs})`);
} finally {
  rmSync(base, { recursive: true, force: true });
}
