import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { coven } from './helpers/repo.js';

test('coven --help lists the commands and exits 0', async () => {
  const r = await coven(['--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /usage: coven <command>/);
});

test('an unknown command is refused with the usage', async () => {
  const r = await coven(['frobnicate']);
  assert.is(r.code, 64);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});

test.run();
