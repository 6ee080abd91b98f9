// run-tests — runs the compiled test files (dist/test/**/*.test.js) with uvu, a few
// files at a time, and prints one summary line last: `N passed, N failed[, N skipped]`.
// A failing file's output is shown whole; a passing one's only its `skipped:` (why tests
// were skipped) and `figures:` (what it measured) lines.
//
// Two suites: the quick one (`npm test`) and the long one (`npm run test:long`): a file
// whose source starts with a comment line `// suite: long` belongs to the long one (the
// soak-like files that kill workers with kill -9; the installs and the hook managers,
// which use npm). .ci/run runs both.
//
// Each file runs in an empty temp folder (its cwd: a test that forgets to give a command
// a cwd works there, never in the project's checkout), as a process group of its own; a
// file still running after its timeout has the whole group killed (its workers and agent
// sessions too) and fails, named with the timeout. The files the last run found slowest
// start first, so that a long file does not start last and keep the others waiting
// (times kept in dist/test/.durations.json).
//
//   args:   [filter]   only files whose path contains this text (from both suites)
//           --long     the long suite only · --all  both suites (default: the quick one)
//   env:    COVEN_TEST_JOBS     files run at once (default: 3)
//           COVEN_TEST_TIMEOUT  seconds a file may run before it is killed and failed
//                               (default: 120; 0: no timeout)
//           COVEN_TEST_SKIPS    "fail": a skipped test counts as failed (the real-CLI check
//                               sets it: there, a skip would hide a check that did not run)
//   exit:   0 all passed · 1 any failure (or no file matched) · 64 bad usage

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const skipsFail = process.env.COVEN_TEST_SKIPS === 'fail';
const durationsFile = join(here, '.durations.json');
/** the marker line of a long-suite file (tsc keeps the comment at the top of the .js) */
const LONG_MARKER = '// suite: long';

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

/** True when the file's leading comment lines include the long-suite marker. */
function isLong(file: string): boolean {
  for (const line of readFileSync(file, 'utf8').split('\n', 40)) {
    if (line.trim() === LONG_MARKER) return true;
    if (line.trim() !== '' && !line.startsWith('//') && !line.startsWith('#!')) return false;
  }
  return false;
}

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  output: string;
  code: number | null;
  ms: number;
  /** seconds after which the file was killed, when it was */
  timedOut: number | null;
}

/** the process groups of the files running now: a Ctrl-C of the run ends them too (they are not in its group) */
const running = new Set<number>();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    for (const pid of running) killGroup(pid);
    process.exit(130);
  });
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

function runFile(file: string, timeoutS: number): Promise<FileResult> {
  const started = Date.now();
  return new Promise((resolveRun) => {
    // detached: a process group of its own, so that a timeout ends everything the file started
    // cwd: an empty folder of its own, so that a test that forgets to give a cwd never works in the project's checkout
    const cwd = mkdtempSync(join(tmpdir(), 'coven-test-cwd-'));
    const child = spawn(process.execPath, [file], { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, FORCE_COLOR: '0' } });
    running.add(child.pid!);
    let output = '';
    let timedOut: number | null = null;
    let exited = false;
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', () => (exited = true));
    const timer = timeoutS > 0 ? setTimeout(() => {
      timedOut = timeoutS;
      output += `\nrun-tests: ${relative(here, file)} timed out after ${timeoutS} s${exited ? ' (its own process had ended; something it started still held its output open)' : ''}: its process group was killed (COVEN_TEST_TIMEOUT=<seconds> gives it longer)\n`;
      killGroup(child.pid!);
    }, timeoutS * 1000) : null;
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      running.delete(child.pid!);
      rmSync(cwd, { recursive: true, force: true });
      // uvu prints "Total: N / Passed: N / Skipped: N" per file; its Total leaves out skipped tests
      const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0);
      let failed = total - passed;
      if ((code !== 0 || timedOut !== null) && failed === 0) failed = 1; // the file crashed or hung outside a test
      if (skipsFail) failed += skipped;
      resolveRun({ file, passed, failed, skipped, output, code, ms: Date.now() - started, timedOut });
    });
  });
}

function readDurations(): Record<string, number> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(durationsFile, 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, number>) : {};
  } catch {
    return {};
  }
}

/** Slowest first: by the last run's times; a file never timed goes by its size, before the timed ones. */
function slowestFirst(files: string[], durations: Record<string, number>): string[] {
  const key = (f: string): [number, number] => {
    const ms = durations[relative(here, f)];
    return typeof ms === 'number' ? [0, ms] : [1, statSync(f).size];
  };
  return [...files].sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    return kb[0] - ka[0] || kb[1] - ka[1];
  });
}

function parseArgs(argv: string[]): { filter: string | undefined; suite: 'quick' | 'long' | 'all' } | null {
  let filter: string | undefined;
  let suite: 'quick' | 'long' | 'all' = 'quick';
  for (const a of argv) {
    if (a === '--long') suite = 'long';
    else if (a === '--all') suite = 'all';
    else if (a.startsWith('-') || filter !== undefined) return null;
    else filter = a;
  }
  return { filter, suite };
}

function report(r: FileResult): void {
  const name = relative(here, r.file);
  const mark = r.failed > 0 ? 'FAIL' : 'ok  ';
  const counts = `${r.passed} passed${r.failed ? `, ${r.failed} failed` : ''}${r.skipped ? `, ${r.skipped} skipped` : ''}`;
  const time = r.timedOut !== null ? `TIMED OUT after ${r.timedOut} s` : `${(r.ms / 1000).toFixed(1)}s`;
  process.stdout.write(`${mark} ${name}  (${counts}, ${time})\n`);
  if (r.failed > 0) process.stdout.write(r.output.replace(/^/gm, '    | ') + '\n');
  // a file that skips tests (or runs none: a real-CLI file whose CLI is unavailable
  // offline) says why on a line starting with "skipped:"; one that measures something
  // (the chaos test) prints it on lines starting with "figures:"
  else for (const line of r.output.split('\n')) if (((r.skipped > 0 || r.passed === 0) && line.startsWith('skipped:')) || line.startsWith('figures:')) process.stdout.write(`     ${line}\n`);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (!args) {
    process.stderr.write('usage: node dist/test/run-tests.js [--long | --all] [filter]\n');
    return 64;
  }
  const timeoutS = Number(process.env.COVEN_TEST_TIMEOUT ?? 120);
  if (!Number.isFinite(timeoutS) || timeoutS < 0) {
    process.stderr.write(`run-tests: COVEN_TEST_TIMEOUT must be a number of seconds (0: none), not ${JSON.stringify(process.env.COVEN_TEST_TIMEOUT)}\n`);
    return 64;
  }
  const { filter, suite } = args;
  // a filter picks from both suites: it names the files wanted
  const inSuite = (f: string): boolean => filter !== undefined || suite === 'all' || (suite === 'long') === isLong(f);
  const durations = readDurations();
  const files = slowestFirst(findTests(here).filter((f) => (!filter || relative(here, f).includes(filter)) && inSuite(f)), durations);
  const jobs = Math.max(1, Number(process.env.COVEN_TEST_JOBS ?? 3));
  const results: FileResult[] = [];
  let next = 0;
  async function worker(): Promise<void> {
    while (next < files.length) {
      const r = await runFile(files[next++]!, timeoutS);
      results.push(r);
      report(r);
    }
  }
  await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));
  for (const r of results) if (r.timedOut === null) durations[relative(here, r.file)] = r.ms;
  try {
    writeFileSync(durationsFile, JSON.stringify(durations, null, 1) + '\n');
  } catch {
    // only an ordering hint for the next run
  }
  const sum = (k: 'passed' | 'failed' | 'skipped') => results.reduce((n, r) => n + r[k], 0);
  const skipped = sum('skipped');
  const timedOut = results.filter((r) => r.timedOut !== null).map((r) => relative(here, r.file));
  if (timedOut.length > 0) process.stdout.write(`timed out (killed after ${timeoutS} s): ${timedOut.join(', ')}\n`);
  process.stdout.write(`${sum('passed')} passed, ${sum('failed')} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  return sum('failed') > 0 || files.length === 0 ? 1 : 0;
}

main().then((code) => process.exit(code));
