// The bundled step scripts (dist/standalone/*.mjs) are meant to be copied into any
// repository and run with plain node: no coven package, no node_modules. So are the hooks
// (dist/standalone/hooks/, plain sh files).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { localUpstreamOf } from '../scripts/lib/git/main-branch.js';
import { writeFiles, testAgents, issueFile } from './helpers/coven-repo.js';
import { assertFakeRunsOk, fakeClaudeEnv } from './helpers/fake-claude.js';
import { commitFile, distRoot, projectRoot, run, sh, tempDir, tempRepo } from './helpers/repo.js';

const standalone = join(distRoot, 'standalone');

/** The packages the bundle was built from that node could still find from `dir` (should be none). */
function resolvableDependencies(dir: string): string[] {
  const require = createRequire(join(dir, 'probe.js'));
  const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  return ['coven', ...Object.keys(pkg.dependencies)].filter((name) => {
    try {
      require.resolve(name);
      return true;
    } catch {
      return false;
    }
  });
}

test('spawn-worktree.mjs copied into a repository runs with plain node, outside the package', async () => {
  const repo = await tempRepo('app');
  await commitFile(repo, '.gitignore', 'node_modules/\n.env\n/tools/\n');
  const tools = join(repo, 'tools');
  mkdirSync(tools);
  const script = join(tools, 'spawn-worktree.mjs');
  copyFileSync(join(distRoot, 'standalone', 'spawn-worktree.mjs'), script);
  writeFileSync(join(repo, '.env'), 'SECRET=1\n');
  // enough folders that the copy runs in worker threads (the bundled worker code must work)
  for (let i = 0; i < 80; i++) {
    mkdirSync(join(repo, `node_modules/pkg${i}/lib`), { recursive: true });
    writeFileSync(join(repo, `node_modules/pkg${i}/lib/index.js`), `module.exports = ${i};\n`);
  }
  chmodSync(join(repo, 'node_modules/pkg3/lib/index.js'), 0o755);
  mkdirSync(join(repo, 'node_modules/.bin'));
  symlinkSync('../pkg3/lib/index.js', join(repo, 'node_modules/.bin/pkg3'));
  // as for a real user: none of the bundle's own dependencies can be found from there
  assert.equal(resolvableDependencies(tools), []);

  const help = await run(process.execPath, [script, '--help'], { cwd: tempDir() });
  assert.is(help.code, 0, help.stderr);
  assert.match(help.stdout, /usage: coven spawn <branch>/);

  const base = join(tempDir('coven-base-'), 'worktrees');
  const r = await run(process.execPath, [script, 'coven/brave-otter', '--worktree-base', base], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  const wt = r.stdout.trimEnd().split('\n').pop() ?? '';
  assert.is(wt, join(base, 'app', 'coven', 'brave-otter'));
  assert.is(readFileSync(join(wt, '.env'), 'utf8'), 'SECRET=1\n');
  assert.is(readFileSync(join(wt, 'node_modules/pkg79/lib/index.js'), 'utf8'), 'module.exports = 79;\n');
  assert.ok(lstatSync(join(wt, 'node_modules/.bin/pkg3')).isSymbolicLink());
  assert.is(lstatSync(join(wt, 'node_modules/pkg3/lib/index.js')).mode & 0o777, 0o755);
  assert.ok(existsSync(join(wt, 'tools/spawn-worktree.mjs')), 'the ignored tools folder is copied too');
  assert.is(await localUpstreamOf(repo, 'coven/brave-otter'), 'main');

  const refused = await run(process.execPath, [script, 'coven/brave-otter', '--worktree-base', base], { cwd: repo });
  assert.is(refused.code, 2);
  assert.match(refused.stderr, /already exists/);
  assert.match(refused.stderr, /node .*spawn-worktree\.mjs <another-branch>/);
});

test('land-worktree.mjs copied next to it lands the spawned branch on its upstream, with plain node', async () => {
  const repo = await tempRepo('app');
  await commitFile(repo, '.gitignore', '/tools/\n');
  const tools = join(repo, 'tools');
  mkdirSync(tools);
  for (const name of ['spawn-worktree.mjs', 'land-worktree.mjs']) copyFileSync(join(distRoot, 'standalone', name), join(tools, name));
  assert.equal(resolvableDependencies(tools), []);

  const help = await run(process.execPath, [join(tools, 'land-worktree.mjs'), '--help'], { cwd: tempDir() });
  assert.is(help.code, 0, help.stderr);
  assert.match(help.stdout, /usage: coven land/);

  const base = join(tempDir('coven-base-'), 'worktrees');
  const spawned = await run(process.execPath, [join(tools, 'spawn-worktree.mjs'), 'coven/calm-heron', '--worktree-base', base], { cwd: repo });
  assert.is(spawned.code, 0, spawned.stderr);
  const wt = spawned.stdout.trimEnd().split('\n').pop() ?? '';
  const work = await commitFile(wt, 'feature.txt', 'done by the worker');
  // the user moves the main worktree to another branch: the worker still lands on main
  await sh(repo, 'switch', '-q', '-c', 'elsewhere');

  const landed = await run(process.execPath, [join(tools, 'land-worktree.mjs')], { cwd: wt });
  assert.is(landed.code, 0, landed.stderr + landed.stdout);
  assert.is(await sh(repo, 'rev-parse', 'main'), work);
  assert.is(await sh(repo, 'branch', '--show-current'), 'elsewhere');
});

test('every bundle in dist/standalone answers --help with plain node, from a folder outside any repository', async () => {
  const bundles = readdirSync(standalone).filter((n) => n.endsWith('.mjs'));
  for (const step of ['spawn-worktree', 'dispatch', 'land-worktree', 'worker-loop', 'coven', 'init', 'hooks', 'status', 'gc']) assert.ok(bundles.includes(`${step}.mjs`), `${step}.mjs is bundled`);
  const tools = tempDir('coven-tools-');
  for (const name of bundles) copyFileSync(join(standalone, name), join(tools, name));
  assert.equal(resolvableDependencies(tools), []);
  for (const name of bundles) {
    const r = await run(process.execPath, [join(tools, name), '--help'], { cwd: tempDir() });
    assert.is(r.code, 0, `${name}: ${r.stderr}`);
    assert.match(r.stdout, /usage/, name);
  }
});

test('the copied bundles and hooks run a whole worker cycle in a repository of their own: the agent runs coven issues, its commit lands on main, a commit on main wakes', async () => {
  const repo = await tempRepo('app');
  const agents = { ...testAgents, 'plan.md': testAgents['plan.md']!.replace('claude_args: ["--allowedTools=Bash(git *),Read,Edit,Write"]', 'claude_args: ["--allowedTools=Bash,Read,Edit,Write"]') };
  writeFiles(join(repo, '.coven', 'agents'), agents);
  writeFiles(repo, { 'issues/a.md': issueFile('Fix a'), '.gitignore': '/tools/\n' });
  await sh(repo, 'add', '-A');
  await sh(repo, 'commit', '-q', '-m', 'coven agents');
  const tools = join(repo, 'tools');
  cpSync(standalone, tools, { recursive: true });
  assert.equal(resolvableDependencies(tools), []);
  // the hooks, installed by hand: two files and the branch they watch
  const gitDir = join(repo, '.git');
  for (const hook of ['post-commit', 'post-merge']) copyFileSync(join(tools, 'hooks', hook), join(gitDir, 'hooks', hook));
  mkdirSync(join(gitDir, 'coven'), { recursive: true });
  writeFileSync(join(gitDir, 'coven', 'main-branch'), 'refs/heads/main\n');

  const env = {
    ...fakeClaudeEnv([
      { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
      {
        match: { promptIncludes: 'Plan the issue in issues/a.md' },
        steps: [{ bash: 'command -v coven > which-coven.txt && coven issues > issues-seen.txt' }, { commit: 'plan a' }, { text: 'Planned.' }],
      },
    ]),
    COVEN_WORKTREE_BASE: tempDir('coven-wt-'),
  };
  const r = await run(process.execPath, [join(tools, 'worker-loop.mjs'), '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assertFakeRunsOk(env);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a');
  assert.match(readFileSync(join(repo, 'issues-seen.txt'), 'utf8'), /^issues\/a\.md {2}new {2}P1 {2}Fix a$/m);
  const shim = readFileSync(join(repo, 'which-coven.txt'), 'utf8').trim();
  assert.ok(!shim.startsWith(projectRoot), `the agent's coven is the bundle's shim, not the clone's: ${shim}`);
  assert.ok(readFileSync(shim, 'utf8').includes(`${tools}/coven.mjs`), 'the shim runs the copied coven.mjs');
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');

  const status = await run(process.execPath, [join(tools, 'status.mjs')], { cwd: repo });
  assert.is(status.code, 0, status.stderr);
  const gc = await run(process.execPath, [join(tools, 'gc.mjs')], { cwd: repo });
  assert.is(gc.code, 0, gc.stderr);
  assert.match(gc.stdout, /nothing to clean up/);
  // the copied hook wakes sleepers when main moves
  await commitFile(repo, 'notes.txt', 'by the user\n');
  assert.ok(existsSync(join(gitDir, 'coven', 'wake')), 'post-commit touched the wake file');
});

test('init.mjs copied alone sets a repository up from the texts embedded in it: agents, workflow, hooks', async () => {
  const repo = await tempRepo('fresh');
  const tools = tempDir('coven-tools-');
  copyFileSync(join(standalone, 'init.mjs'), join(tools, 'init.mjs'));
  const r = await run(process.execPath, [join(tools, 'init.mjs')], { cwd: repo });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(readFileSync(join(repo, '.coven', 'agents', 'dispatch.md'), 'utf8'), readFileSync(join(projectRoot, 'templates', 'agents', 'dispatch.md'), 'utf8'));
  assert.is(readFileSync(join(repo, '.coven', 'workflow.md'), 'utf8'), readFileSync(join(projectRoot, 'templates', 'workflow.md'), 'utf8'));
  assert.is(readFileSync(join(repo, '.git', 'hooks', 'post-commit'), 'utf8'), readFileSync(join(projectRoot, 'hooks', 'post-commit'), 'utf8'));
  const hooks = await run(process.execPath, [join(standalone, 'hooks.mjs'), 'status'], { cwd: repo });
  assert.is(hooks.code, 0, hooks.stdout + hooks.stderr);
});

test.run();
