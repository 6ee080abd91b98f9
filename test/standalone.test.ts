// The bundled step scripts (dist/standalone/*.mjs) are meant to be copied into any
// repository and run with plain node: no coven package, no node_modules.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { localUpstreamOf } from '../scripts/lib/git/main-branch.js';
import { commitFile, distRoot, run, sh, tempDir, tempRepo } from './helpers/repo.js';

/** The packages the bundle was built from that node could still find from `dir` (should be none). */
function resolvableDependencies(dir: string): string[] {
  const require = createRequire(join(dir, 'probe.js'));
  return ['zx', 'minimist', 'coven'].filter((name) => {
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

test.run();
