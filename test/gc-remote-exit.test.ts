// coven gc --remote, how it ends when the remote part cannot be done: a remote that does
// not answer is exit 6 (as coven land --remote), a --remote naming no remote of this clone
// is exit 64 (as coven land --remote); each says so once, on stderr, with the next command.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { coven } from './helpers/repo.js';
import { covenRepo } from './helpers/coven-repo.js';
import { machineClone, serveRepository, startGitDaemon } from './helpers/git-daemon.js';

test('coven gc --remote: a remote that does not answer is exit 6, said once with the command to run again', async () => {
  const daemon = await startGitDaemon();
  try {
    const here = await machineClone(await serveRepository(daemon, await covenRepo()), 'box-a');
    const up = await coven(['gc', '--remote', 'origin'], { cwd: here, env: { COVEN_MACHINE: 'box-a' } });
    assert.is(up.code, 0, up.stderr + up.stdout);
    await daemon.stop();
    const down = await coven(['gc', '--remote', 'origin'], { cwd: here, env: { COVEN_MACHINE: 'box-a' } });
    assert.is(down.code, 6, down.stderr + down.stdout);
    assert.match(down.stderr, /coven: the remote origin did not answer/);
    assert.match(down.stderr, /Nothing else was deleted on the remote/);
    assert.match(down.stderr, /coven gc --remote origin/);
    assert.is(down.stderr.match(/did not answer/g)?.length, 1, 'said once');
    assert.not.match(down.stdout, /did not answer/, 'not said twice');
  } finally {
    await daemon.stop();
  }
});

test('coven gc --remote NAME naming no remote of this clone is exit 64 (as coven land), nothing changed', async () => {
  const daemon = await startGitDaemon();
  try {
    const here = await machineClone(await serveRepository(daemon, await covenRepo()), 'box-a');
    const r = await coven(['gc', '--remote', 'nope'], { cwd: here, env: { COVEN_MACHINE: 'box-a' } });
    assert.is(r.code, 64, r.stderr + r.stdout);
    assert.match(r.stderr, /coven: --remote names the remote "nope", which this clone does not have \(its remotes: origin\)/);
    assert.match(r.stderr, /Nothing was changed/);
    assert.match(r.stderr, /git remote -v/);
    const land = await coven(['land', '--remote', 'nope'], { cwd: here, env: { COVEN_MACHINE: 'box-a' } });
    assert.is(land.code, r.code, 'the same code as coven land --remote gives a bad name');
  } finally {
    await daemon.stop();
  }
});

test('coven gc --help lists the exit for a remote that did not answer', async () => {
  const r = await coven(['gc', '--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /6 --remote: the remote did not answer/);
});

test.run();
