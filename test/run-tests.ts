// run-tests — runs every compiled test file (dist/test/**/*.test.js) with uvu, a few
// files at a time, and prints one summary line last: `N passed, N failed[, N skipped]`.
// A failing file's output is shown whole; a passing one's only its `skipped:` (why tests
// were skipped) and `figures:` (what it measured) lines.
//
//   args:   [filter]   only files whose path contains this text
//   env:    COVEN_TEST_JOBS   files run at once (default: 3)
//           COVEN_TEST_SKIPS  "fail": a skipped test counts as failed (the real-CLI check
//                             sets it: there, a skip would hide a check that did not run)
//   exit:   0 all passed · 1 any failure

import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const skipsFail = process.env.COVEN_TEST_SKIPS === 'fail';

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  output: string;
  code: number | null;
  ms: number;
}

function runFile(file: string): Promise<FileResult> {
  const started = Date.now();
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => {
      // uvu prints "Total: N / Passed: N / Skipped: N" per file; its Total leaves out skipped tests
      const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0);
      let failed = total - passed;
      if (code !== 0 && failed === 0) failed = 1; // the file crashed outside a test
      if (skipsFail) failed += skipped;
      resolveRun({ file, passed, failed, skipped, output, code, ms: Date.now() - started });
    });
  });
}

async function main(): Promise<number> {
  const filter = process.argv[2];
  const files = findTests(here).filter((f) => !filter || relative(here, f).includes(filter));
  const jobs = Math.max(1, Number(process.env.COVEN_TEST_JOBS ?? 3));
  const results: FileResult[] = [];
  let next = 0;
  async function worker(): Promise<void> {
    while (next < files.length) {
      const file = files[next++]!;
      const r = await runFile(file);
      results.push(r);
      const name = relative(here, r.file);
      const mark = r.failed > 0 ? 'FAIL' : 'ok  ';
      process.stdout.write(`${mark} ${name}  (${r.passed} passed${r.failed ? `, ${r.failed} failed` : ''}${r.skipped ? `, ${r.skipped} skipped` : ''}, ${(r.ms / 1000).toFixed(1)}s)\n`);
      if (r.failed > 0) process.stdout.write(r.output.replace(/^/gm, '    | ') + '\n');
      // a file that skips tests says why on a line starting with "skipped:"; one that
      // measures something (the chaos test) prints it on lines starting with "figures:"
      else for (const line of r.output.split('\n')) if ((r.skipped > 0 && line.startsWith('skipped:')) || line.startsWith('figures:')) process.stdout.write(`     ${line}\n`);
    }
  }
  await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));
  const sum = (k: 'passed' | 'failed' | 'skipped') => results.reduce((n, r) => n + r[k], 0);
  const skipped = sum('skipped');
  process.stdout.write(`${sum('passed')} passed, ${sum('failed')} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  return sum('failed') > 0 || files.length === 0 ? 1 : 0;
}

main().then((code) => process.exit(code));
