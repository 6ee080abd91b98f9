// run-tests — the test runner itself: a file that hangs is killed with everything it
// started and fails, named with its timeout; a file runs in an empty folder of its own;
// the long suite runs only when asked for.
// Runs a copy of dist/test/run-tests.js in a temp folder with small fixture files.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distRoot, run, tempDir } from './helpers/repo.js';
import { alive } from './helpers/alive.js';

/** uvu's summary lines, as a passing file prints them */
const passing = (n: number) => `console.log('  Total:     ${n}\\n  Passed:    ${n}\\n  Skipped:   0\\n');\n`;

function runner(files: Record<string, string>): string {
  const dir = tempDir('coven-runner-');
  copyFileSync(join(distRoot, 'test', 'run-tests.js'), join(dir, 'run-tests.js'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}


test('a file that hangs is killed after COVEN_TEST_TIMEOUT with what it started, and fails by name', async () => {
  const dir = runner({
    'quick.test.js': `import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('./cwd.txt', import.meta.url), process.cwd());\n${passing(2)}`,
    // starts a grandchild, writes its pid, then never ends
    'hang.test.js': `import { spawn } from 'node:child_process';\nimport { writeFileSync } from 'node:fs';\nconst c = spawn('sleep', ['600'], { stdio: 'ignore' });\nwriteFileSync(new URL('./sleeper.pid', import.meta.url), String(c.pid));\nsetInterval(() => {}, 1000);\n`,
  });
  const started = Date.now();
  const r = await run(process.execPath, [join(dir, 'run-tests.js')], { env: { COVEN_TEST_TIMEOUT: '2', COVEN_TEST_JOBS: '2' } });
  assert.ok(Date.now() - started < 30_000, 'the run did not wait for the hung file');
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^FAIL hang\.test\.js {2}\(0 passed, 1 failed, TIMED OUT after 2 s\)$/m);
  assert.match(r.stdout, /hang\.test\.js timed out after 2 s: its process group was killed \(COVEN_TEST_TIMEOUT=<seconds> gives it longer\)/);
  assert.match(r.stdout, /^ok {3}quick\.test\.js {2}\(2 passed, /m);
  assert.match(r.stdout, /^timed out \(killed after 2 s\): hang\.test\.js\n2 passed, 1 failed\n$/m);
  const cwd = readFileSync(join(dir, 'cwd.txt'), 'utf8');
  assert.ok(cwd.startsWith(tmpdir()) && cwd !== dir, `a file runs in an empty folder of its own, not where the run was started: ${cwd}`);
  assert.not.ok(existsSync(cwd), 'that folder is removed after the file ended');
  const pid = Number(readFileSync(join(dir, 'sleeper.pid'), 'utf8'));
  await new Promise((res) => setTimeout(res, 200));
  assert.not.ok(alive(pid), 'the grandchild was killed with the file');
});

test('a file marked "// suite: long" runs with --long or --all or a filter naming it, not by default', async () => {
  const dir = runner({
    'quick.test.js': `// quick\n${passing(1)}`,
    'soak.test.js': `// soak — runs a long time\n// suite: long\n${passing(3)}`,
  });
  const runIt = (...args: string[]) => run(process.execPath, [join(dir, 'run-tests.js'), ...args]);
  const quick = await runIt();
  assert.is(quick.code, 0, quick.stdout);
  assert.not.match(quick.stdout, /soak/);
  assert.match(quick.stdout, /^1 passed, 0 failed$/m);
  const long = await runIt('--long');
  assert.not.match(long.stdout, /quick/);
  assert.match(long.stdout, /^3 passed, 0 failed$/m);
  assert.match((await runIt('--all')).stdout, /^4 passed, 0 failed$/m);
  assert.match((await runIt('soak')).stdout, /^3 passed, 0 failed$/m);
  assert.ok(existsSync(join(dir, '.durations.json')), 'the times are kept for the next run\'s order');
  const bad = await runIt('--lnog');
  assert.is(bad.code, 64);
});

test.run();
