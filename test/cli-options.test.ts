// cli-options — every subcommand refuses an option it does not know (exit 64, the
// option named, nothing done), and takes `--opt value` and `--opt=value` alike. A typo
// like `coven gc --dryrun` must never run the real thing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempDir, tempRepo } from './helpers/repo.js';

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
    assert.match(r.stderr, /^[^\n]+\ncoven \w+ --help shows the usage\.\n$/, `coven ${cmd.join(' ')}: one line, then a pointer to --help\n${r.stderr}`);
    assert.not.match(r.stderr, /usage: coven /, 'the usage itself is not printed after a usage error');
  }
  assert.not.ok(existsSync(join(repo, '.coven')), 'nothing was written');
});

test('a usage error is one line that names the problem and one that points to --help', async () => {
  const repo = await tempRepo();
  const r = await coven(['gc', '--dryrun'], { cwd: repo });
  assert.is(r.code, 64);
  assert.is(r.stderr, 'coven gc: unknown option --dryrun\ncoven gc --help shows the usage.\n');
  assert.is(r.stdout, '');
});

test('coven help <command> prints that command\'s own help', async () => {
  const names = ['demo', 'init', 'agents', 'issues', 'spawn', 'dispatch', 'run-agent', 'resolve', 'wait', 'worker', 'land', 'status', 'gc', 'hooks'];
  const runs = await Promise.all(names.map((name) => Promise.all([coven(['help', name]), coven([name, '--help'])])));
  for (const [i, name] of names.entries()) {
    const [viaHelp, direct] = runs[i]!;
    assert.is(viaHelp.code, 0, `coven help ${name}: exit ${viaHelp.code}\n${viaHelp.stderr}`);
    assert.match(viaHelp.stdout, new RegExp(`^usage: coven ${name}`), `coven help ${name}`);
    assert.is(viaHelp.stdout, direct.stdout, `coven help ${name} is coven ${name} --help`);
  }
  const unknown = await coven(['help', 'frobnicate']);
  assert.is(unknown.code, 64);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});

test('a switch given a value (--json=no) is refused by every command, and nothing runs', async () => {
  const repo = await tempRepo();
  const cmds = [
    ['status', '--json=no'], ['status', '--watch=1'], ['agents', '--json=no'], ['issues', '--json=false'], ['gc', '--dry-run=no'], ['gc', '--force=no'],
    ['land', '--keep=no'], ['worker', '--once=no'], ['init', '--hooks=no'], ['init', '--no-hooks=yes'], ['dispatch', '--lock=no'], ['demo', '--real=no'],
    ['hooks', 'install', '--help=no'], ['spawn', 'x', '--help=1'],
  ];
  const runs = await Promise.all(cmds.map((cmd) => coven(cmd, { cwd: repo })));
  for (const [i, cmd] of cmds.entries()) {
    const r = runs[i]!;
    assert.is(r.code, 64, `coven ${cmd.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    const given = cmd[cmd.length - 1]!;
    assert.match(r.stderr, `${given.slice(0, given.indexOf('='))} takes no value (got ${given})`, `coven ${cmd.join(' ')}`);
    assert.is(r.stdout, '', `coven ${cmd.join(' ')} printed nothing on stdout`);
  }
  const common = await sh(repo, 'rev-parse', '--path-format=absolute', '--git-common-dir');
  assert.not.ok(existsSync(join(repo, '.coven')), 'init --hooks=no wrote nothing');
  assert.not.ok(existsSync(join(common, 'coven')), 'no state dir was created');
});

test('every command exits 2 outside a git work tree, and says so', async () => {
  const notRepo = tempDir();
  const bare = join(tempDir(), 'project.git');
  await sh(tempDir(), 'init', '-q', '--bare', '-b', 'main', bare);
  const env = { GIT_CEILING_DIRECTORIES: '/', COVEN_WORKTREE_BASE: join(tempDir(), 'wt') };
  const cmds = [['init'], ['agents'], ['issues'], ['spawn', 'x'], ['dispatch'], ['run-agent', '--decision', 'd.json', '--out', 'r.json'], ['resolve', '--session', 's.json'], ['wait', '--since', 'HEAD'], ['worker', '--once'], ['land'], ['status'], ['gc'], ['hooks', 'install'], ['hooks', 'status']];
  for (const cwd of [notRepo, bare]) {
    const runs = await Promise.all(cmds.map((cmd) => coven(cmd, { cwd, env })));
    for (const [i, cmd] of cmds.entries()) {
      const r = runs[i]!;
      assert.is(r.code, 2, `coven ${cmd.join(' ')} in ${cwd}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, /not inside a git|bare repository/, `coven ${cmd.join(' ')} in ${cwd} says why`);
    }
  }
  const help = await coven(['--help']);
  assert.match(help.stdout, /2 when it is not run inside a git work\s+tree/, 'coven --help documents it');
});

test.run();
