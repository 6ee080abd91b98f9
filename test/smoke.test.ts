import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { coven } from './helpers/repo.js';

test('coven --help lists the commands and exits 0', async () => {
  const r = await coven(['--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /usage: coven <command>/);
});

test('an unknown command is refused in one line, with a pointer to --help', async () => {
  const r = await coven(['frobnicate']);
  assert.is(r.code, 64);
  assert.is(r.stderr, "coven: unknown command 'frobnicate'\ntry: coven --help   (it lists the commands)\n");
});

test('coven --version prints the version of package.json', async () => {
  const r = await coven(['--version']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
});

test.run();
