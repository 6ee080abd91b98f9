// machine-name — this machine's name on the remote: COVEN_MACHINE when set (a bad value is
// an error every step reports at start, never a silent fallback to the host name), else
// the host name made into a machine name the same way every time.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lookupMachine } from '../scripts/lib/remote/target.js';
import { coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo } from './helpers/coven-repo.js';
import { fakeClaudeEnv } from './helpers/fake-claude.js';

test('COVEN_MACHINE, from a table: a good name is taken as it is, a bad one is a problem that says the rule and the fix', () => {
  const named = (COVEN_MACHINE: string | undefined) => lookupMachine(COVEN_MACHINE === undefined ? {} : { COVEN_MACHINE }, 'the-host');
  for (const good of ['box-1', 'Box_2.lan', 'a', 'x'.repeat(63)]) assert.equal(named(good), { kind: 'named', name: good, from: 'COVEN_MACHINE' }, good);
  assert.equal(named(' box-1 '), { kind: 'named', name: 'box-1', from: 'COVEN_MACHINE' });
  for (const unset of [undefined, '', '  ']) assert.equal(named(unset), { kind: 'named', name: 'the-host', from: 'host name' });
  for (const bad of ['box 1', '-box', '.box', 'a..b', 'box.lock', 'a/b', 'x'.repeat(64), 'bôx', 'box;rm']) {
    const m = named(bad);
    assert.is(m.kind, 'problem', bad);
    if (m.kind !== 'problem') continue;
    assert.ok(m.message.startsWith(`COVEN_MACHINE is ${JSON.stringify(bad)}, which is not a machine name (letters, digits,`), m.message);
    assert.match(m.next.join('\n'), /export COVEN_MACHINE=/);
    assert.match(m.next.join('\n'), /unset COVEN_MACHINE/);
  }
});

test('a host name, from a table: made into a machine name the same way every time; one that gives none is a problem saying to set COVEN_MACHINE', () => {
  const table: Array<[string, string | null]> = [
    ['build-7', 'build-7'],
    ['my host.local', 'my-host.local'],
    ['-_weird__host', 'weird__host'],
    ['a..b', 'a.b'],
    ['box.lock', 'box'],
    ['box.lock.lock', 'box'],
    ['h'.repeat(70), 'h'.repeat(63)],
    ['ünïcode', 'n-code'],
    ['...', null],
    ['-', null],
    ['', null],
  ];
  for (const [host, want] of table) {
    const m = lookupMachine({}, host);
    if (want === null) {
      assert.is(m.kind, 'problem', host);
      if (m.kind === 'problem') assert.match(m.message + m.next.join('\n'), /gives no machine name .*COVEN_MACHINE is not set[\s\S]*export COVEN_MACHINE=/);
    } else {
      assert.equal(m, { kind: 'named', name: want, from: 'host name' }, host);
      assert.equal(lookupMachine({}, host), m, 'deterministic');
    }
  }
});

test('every step that talks to the remote (and the worker, in either mode) stops at start on a bad COVEN_MACHINE, saying what, the rule and the fix', async () => {
  const repo = await covenRepo();
  await sh(repo, 'remote', 'add', 'origin', tempDir('coven-nowhere-'));
  const env = { ...fakeClaudeEnv(null), COVEN_MACHINE: 'box 1', COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const steps: string[][] = [
    ['worker', '--once', '--remote', 'origin'],
    ['worker', '--once'],
    ['land', '--remote', 'origin'],
    ['spawn', 'coven/w1', '--remote', 'origin'],
    ['dispatch', '--remote', 'origin'],
    ['dispatch'],
    ['status', '--remote', 'origin'],
    ['gc', '--remote', 'origin'],
    ['wait', '--since', 'main', '--remote', 'origin'],
  ];
  for (const args of steps) {
    const r = await coven(args, { cwd: repo, env, timeoutMs: 60_000 });
    const said = `coven ${args.join(' ')}: ${r.code}\n${r.stderr}${r.stdout}`;
    assert.is.not(r.code, 0, said);
    assert.match(r.stderr, /COVEN_MACHINE is "box 1", which is not a machine name \(letters, digits,/, said);
    assert.match(r.stderr, /export COVEN_MACHINE=/, said);
  }
  assert.is(await sh(repo, 'worktree', 'list', '--porcelain').then((l) => l.split('\n').filter((x) => x.startsWith('worktree ')).length), 1, 'nothing was created');
});

test.run();
