// cli-options — every subcommand refuses an option it does not know (exit 64, the
// option named, nothing done), and takes `--opt value` and `--opt=value` alike. A typo
// like `coven gc --dryrun` must never run the real thing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempRepo } from './helpers/repo.js';

const commands: string[][] = [['demo'], ['init'], ['agents'], ['issues'], ['spawn', 'x'], ['dispatch'], ['worker'], ['land'], ['status'], ['gc'], ['hooks', 'install'], ['hooks', 'status']];

test('every command refuses an unknown option with exit 64 and names it', async () => {
  const repo = await tempRepo();
  for (const cmd of commands) {
    const r = await coven([...cmd, '--bogus-option'], { cwd: repo });
    assert.is(r.code, 64, `coven ${cmd.join(' ')} --bogus-option: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, 'bogus-option', `coven ${cmd.join(' ')}: the message names the option`);
  }
  // nothing was done: no hooks, no state dir, no worktree
  const common = await sh(repo, 'rev-parse', '--path-format=absolute', '--git-common-dir');
  assert.not.ok(existsSync(join(common, 'hooks', 'post-commit')), 'hooks install --bogus-option installed the hooks');
  assert.not.ok(existsSync(join(common, 'coven')), 'a command with a bad option created the state dir');
  assert.not.ok(existsSync(join(repo, '.coven')), 'init with a bad option wrote files');
});

test('a misspelt gc option (--dryrun) changes nothing', async () => {
  const repo = await tempRepo();
  const r = await coven(['gc', '--dryrun'], { cwd: repo });
  assert.is(r.code, 64);
  assert.match(r.stderr, '--dryrun');
});

test('valued options take both --opt value and --opt=value', async () => {
  const repo = await tempRepo();
  for (const form of [['hooks', 'install', '--main-branch', 'trunk'], ['hooks', 'install', '--main-branch=trunk']]) {
    const r = await coven(form, { cwd: repo });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, 'main branch: trunk');
  }
  for (const form of [['worker', '--on-park', 'nope'], ['worker', '--on-park=nope']]) {
    const r = await coven(form, { cwd: repo });
    assert.is(r.code, 64);
    assert.match(r.stderr, '--on-park is wait or continue');
  }
});

test('a valued option without its value, or given twice, is a usage error that names it', async () => {
  const repo = await tempRepo();
  for (const [cmd, problem] of [
    [['issues', '--dir'], '--dir needs a value'],
    [['init', '--dir='], '--dir needs a value'],
    [['worker', '--name', 'a', '--name', 'b'], '--name is given more than once'],
    [['dispatch', '--out'], '--out needs a value'],
    [['hooks', 'install', 'extra'], "unexpected argument 'extra'"],
    [['hooks'], 'missing install, uninstall or status'],
  ] as const) {
    const r = await coven([...cmd], { cwd: repo });
    assert.is(r.code, 64, `coven ${cmd.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, problem, `coven ${cmd.join(' ')}`);
    assert.match(r.stderr, /usage: coven /);
  }
  assert.not.ok(existsSync(join(repo, '.coven')), 'nothing was written');
});

test.run();
