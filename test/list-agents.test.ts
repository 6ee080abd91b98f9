import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitFile, coven, sh, tempDir, tempRepo } from './helpers/repo.js';

const plan = '---\ndescription: Writes a plan\nargs:\n  - name: issue\n    description: path of the issue file\n---\nPlan {{issue}}.\n';
const audit = '---\ndescription: Audits the repository\n---\nAudit.\n';
const noGitAbove = { GIT_CEILING_DIRECTORIES: '/' };

test('coven agents lists valid agents with their arguments and exits 0', async () => {
  const repo = await tempRepo();
  await commitFile(repo, '.coven/agents/plan.md', plan);
  await commitFile(repo, '.coven/agents/audit.md', audit);
  const r = await coven(['agents'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  assert.is(
    r.stdout,
    [
      `agents in ${join(repo, '.coven', 'agents')} (2):`,
      'audit — Audits the repository',
      '    (no arguments)',
      '    cli: claude',
      'plan — Writes a plan',
      '    issue (required): path of the issue file',
      '    cli: claude',
      '',
    ].join('\n'),
  );
  assert.is(r.stderr, '');
});

test('coven agents lists valid and invalid files together and exits 1', async () => {
  const repo = await tempRepo();
  await commitFile(repo, '.coven/agents/plan.md', plan);
  await commitFile(repo, '.coven/agents/Bad.md', audit);
  await commitFile(repo, '.coven/agents/typo.md', '---\ndescription: d\n---\nDo {{isue}}\n');
  await commitFile(repo, '.coven/agents/readme.txt', 'ignored');
  const r = await coven(['agents'], { cwd: repo });
  assert.is(r.code, 1);
  assert.match(r.stdout, /^plan — Writes a plan$/m);
  assert.match(r.stdout, /^invalid agent files \(2\):$/m);
  assert.match(r.stdout, /^  \.coven\/agents\/Bad\.md: file name: 'Bad' must match/m);
  assert.match(r.stdout, /^  \.coven\/agents\/typo\.md: body line 4: \{\{isue\}\} names no declared argument/m);
  assert.not.match(r.stdout, /readme/);
  assert.match(r.stderr, /2 agent files are invalid/);
});

test('coven agents --json prints {agents, invalid, warnings}', async () => {
  const repo = await tempRepo();
  await commitFile(repo, '.coven/agents/plan.md', plan.replace('description: Writes', 'colour: red\ndescription: Writes'));
  await commitFile(repo, '.coven/agents/broken.md', 'no frontmatter\n');
  const r = await coven(['agents', '--json'], { cwd: repo });
  assert.is(r.code, 1);
  const out = JSON.parse(r.stdout) as { agents: unknown[]; invalid: unknown[]; warnings: unknown[] };
  assert.equal(Object.keys(out), ['agents', 'invalid', 'warnings']);
  assert.equal(out.agents, [
    {
      name: 'plan',
      file: '.coven/agents/plan.md',
      description: 'Writes a plan',
      args: [{ name: 'issue', description: 'path of the issue file', required: true }],
      clis: ['claude'],
      cliArgs: { claude: [] },
      claudeArgs: [],
      body: 'Plan {{issue}}.\n',
      warnings: ['.coven/agents/plan.md: colour: unknown key, ignored'],
    },
  ]);
  assert.equal(out.invalid, [
    { file: '.coven/agents/broken.md', field: 'frontmatter', message: "missing: the file must start with a line '---', then 'description: …', then a line '---'" },
  ]);
  assert.equal(out.warnings, ['.coven/agents/plan.md: colour: unknown key, ignored']);
  assert.is(r.stderr, '');
});

test('coven agents reads the worktree it runs in, from any subdirectory', async () => {
  const repo = await tempRepo();
  await commitFile(repo, '.coven/agents/plan.md', plan);
  const wt = join(tempDir(), 'wt');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'w1', wt);
  mkdirSync(join(wt, 'src', 'deep'), { recursive: true });
  writeFileSync(join(wt, '.coven', 'agents', 'audit.md'), audit);

  const inWorktree = await coven(['agents', '--json'], { cwd: join(wt, 'src', 'deep') });
  assert.is(inWorktree.code, 0, inWorktree.stderr);
  assert.equal((JSON.parse(inWorktree.stdout) as { agents: { name: string }[] }).agents.map((a) => a.name), ['audit', 'plan']);

  const inMain = await coven(['agents', '--json'], { cwd: repo });
  assert.equal((JSON.parse(inMain.stdout) as { agents: { name: string }[] }).agents.map((a) => a.name), ['plan']);

  const viaDir = await coven(['agents', '--json', '--dir', wt], { cwd: repo });
  assert.equal((JSON.parse(viaDir.stdout) as { agents: { name: string }[] }).agents.map((a) => a.name), ['audit', 'plan']);
});

test('coven agents in a repository without .coven/agents says so and exits 0', async () => {
  const repo = await tempRepo();
  const r = await coven(['agents'], { cwd: repo });
  assert.is(r.code, 0);
  assert.match(r.stdout, /\(0\):/);
  assert.match(r.stdout, /\.coven\/agents: no such directory/);
});

test('coven agents outside a git repository exits 2 with a clear message', async () => {
  const dir = tempDir();
  const r = await coven(['agents'], { cwd: dir, env: noGitAbove });
  assert.is(r.code, 2);
  assert.match(r.stderr, /is not inside a git worktree/);
  assert.is(r.stdout, '');
});

test('coven agents --help names the exit codes; a bad option is a usage error', async () => {
  const help = await coven(['agents', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /usage: coven agents/);
  assert.match(help.stdout, /1 at least one invalid file/);
  const bad = await coven(['agents', '--jsn'], { cwd: tempDir(), env: noGitAbove });
  assert.is(bad.code, 64);
  assert.match(bad.stderr, /unknown option --jsn/);
});

test.run();
