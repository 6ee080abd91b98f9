// The README's "loop by hand" is run exactly as written (extracted from README.md, so
// the two cannot drift): two copies at once, each a worker made of the step commands,
// on a temporary repository with the fake CLI. Both issues land, the second through a
// conflict resolved by resuming the session that made its commit.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, run, sh, tempDir } from './helpers/repo.js';
import { assertFakeRunsOk } from './helpers/fake-claude.js';
import { loopFrom } from './helpers/loop-by-hand.js';
import { A_SUBJECT, assertResolvedByResume, B_SUBJECT, MERGED, resolvingRun, sameLineRepo, sameLineRuns, sleepRun } from './helpers/same-line.js';

test("docs/steps.md shows the README's loop, word for word", () => {
  assert.is(loopFrom('docs/steps.md'), loopFrom('README.md'));
});

test('the loop by hand from the README: two workers, two issues landed, the conflict resolved by resuming the same session', async () => {
  const script = loopFrom('README.md');
  assert.ok(script.split('\n').length <= 25, 'about 15 lines');
  const file = join(tempDir(), 'loop.sh');
  writeFileSync(file, script);
  const s = await sameLineRepo([...sameLineRuns(), resolvingRun, sleepRun]);
  const env = { ...s.env, PATH: `${join(projectRoot, 'shims')}:${process.env.PATH}`, COVEN_IDLE: '3s' };
  const loop = (name: string) => run('sh', [file], { cwd: s.repo, env: { ...env, COVEN_NAME: name }, timeoutMs: 150_000 });
  const [r1, r2] = await Promise.all([loop('w1'), loop('w2')]);
  assert.is(r1.code, 0, r1.stderr + r1.stdout);
  assert.is(r2.code, 0, r2.stderr + r2.stdout);

  assert.is(await sh(s.repo, 'log', '--format=%s', `${s.start}..main`), `${B_SUBJECT}\n${A_SUBJECT}`);
  assert.is(await sh(s.repo, 'rev-list', '--merges', 'main'), '');
  assert.is(await sh(s.repo, 'show', 'main:greeting.txt'), MERGED.trim());
  assert.match(r2.stdout, /conflict resolved in 1 round/);

  assertResolvedByResume(assertFakeRunsOk(s.env));
  // idle: each loop ended by itself and removed its worktree and branch (everything landed)
  assert.is(await sh(s.repo, 'branch', '--list', 'coven/*'), '');
});

test.run();
