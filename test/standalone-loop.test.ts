// suite: long
// The README's loop by hand, run with the copied step bundles instead of coven: each
// `coven <step>` line runs that step's own single file (dist/standalone/<step>.mjs,
// copied to a folder outside the clone, no node_modules) with plain node. Two workers,
// two issues landed, the second through a conflict resolved by resuming its session.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertFakeRunsOk } from './helpers/fake-claude.js';
import { loopFrom } from './helpers/loop-by-hand.js';
import { distRoot, run, sh, tempDir } from './helpers/repo.js';
import { A_SUBJECT, assertResolvedByResume, B_SUBJECT, MERGED, resolvingRun, sameLineRepo, sameLineRuns, sleepRun } from './helpers/same-line.js';

/** The step bundle each `coven <command>` of the loop runs. */
const stepFiles: Record<string, string> = {
  spawn: 'spawn-worktree.mjs',
  dispatch: 'dispatch.mjs',
  'run-agent': 'run-agent.mjs',
  wait: 'wait-for-main.mjs',
  land: 'land-worktree.mjs',
  resolve: 'resolve-conflict.mjs',
};

test('the loop by hand runs on the copied step bundles alone: two workers, two issues landed, one through a resolved conflict', async () => {
  const tools = join(tempDir('coven-tools-'), 'tools');
  cpSync(join(distRoot, 'standalone'), tools, { recursive: true });
  // a `coven` for the loop that runs one copied bundle per step (and refuses anything else)
  const bin = tempDir('coven-bin-');
  const cases = Object.entries(stepFiles).map(([cmd, file]) => `  ${cmd}) f=${file} ;;`).join('\n');
  writeFileSync(join(bin, 'coven'), `#!/bin/sh\ncase "$1" in\n${cases}\n  *) echo "no bundle for coven $1" >&2; exit 99 ;;\nesac\nshift\nexec "${process.execPath}" "${tools}/$f" "$@"\n`, { mode: 0o755 });
  const file = join(tempDir(), 'loop.sh');
  writeFileSync(file, loopFrom('README.md'));

  const s = await sameLineRepo([...sameLineRuns(), resolvingRun, sleepRun]);
  const env = { ...s.env, PATH: `${bin}:${process.env.PATH}`, COVEN_IDLE: '3s' };
  const loop = (name: string) => run('sh', [file], { cwd: s.repo, env: { ...env, COVEN_NAME: name }, timeoutMs: 150_000 });
  const [r1, r2] = await Promise.all([loop('w1'), loop('w2')]);
  assert.is(r1.code, 0, r1.stderr + r1.stdout);
  assert.is(r2.code, 0, r2.stderr + r2.stdout);
  assert.is(await sh(s.repo, 'log', '--format=%s', `${s.start}..main`), `${B_SUBJECT}\n${A_SUBJECT}`);
  assert.is(await sh(s.repo, 'show', 'main:greeting.txt'), MERGED.trim());
  assertResolvedByResume(assertFakeRunsOk(s.env));
  assert.is(await sh(s.repo, 'branch', '--list', 'coven/*'), '');
});

test.run();
