// suite: long
// install — the ways a user starts coven all work, from any directory: ./bin/coven and
// ./bin/coven-worker in the clone (committed, executable), `npm link`, a global install
// of the packed tarball, and `npx coven`. The installs run with no network: npm talks
// only to a registry on 127.0.0.1 that serves coven's runtime dependencies from this
// clone's node_modules (test/helpers/local-registry.ts), with a cache of its own.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, run, sh, tempDir, type Run } from './helpers/repo.js';
import { startLocalRegistry } from './helpers/local-registry.js';

const version = (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** npm with no network but the local registry, no user config, and its own cache. */
function npmEnv(registry: string, home: string, prefix: string): NodeJS.ProcessEnv {
  const userconfig = join(home, 'npmrc');
  writeFileSync(userconfig, '');
  return {
    npm_config_registry: registry,
    npm_config_cache: join(home, 'cache'),
    npm_config_userconfig: userconfig,
    npm_config_prefix: prefix,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    // nothing may build or rebuild the clone under the other tests' feet
    npm_config_ignore_scripts: 'true',
    npm_config_yes: 'true',
  };
}

async function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  const r = await run('npm', args, { cwd, env, timeoutMs: 180_000 });
  assert.is(r.code, 0, `npm ${args.join(' ')} in ${cwd}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

function assertRuns(r: Run, what: string, expected: RegExp): void {
  assert.is(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
  assert.match(r.stdout, expected, what);
}

test('./bin/coven and ./bin/coven-worker are committed executable and run from the clone and from any directory', async () => {
  for (const name of ['coven', 'coven-worker']) {
    const staged = await sh(projectRoot, 'ls-files', '--stage', '--', `bin/${name}`);
    assert.match(staged, /^100755 /, `bin/${name} is committed with mode 100755: ${staged}`);
  }
  const elsewhere = tempDir();
  for (const cwd of [projectRoot, elsewhere]) {
    assertRuns(await run(join(projectRoot, 'bin', 'coven'), ['--version'], { cwd }), `bin/coven --version in ${cwd}`, new RegExp(`^${version}\n$`));
    assertRuns(await run(join(projectRoot, 'bin', 'coven'), ['--help'], { cwd }), `bin/coven --help in ${cwd}`, /usage: coven <command>/);
    assertRuns(await run(join(projectRoot, 'bin', 'coven-worker'), ['--help'], { cwd }), `bin/coven-worker --help in ${cwd}`, /usage: coven worker/);
  }
  assertRuns(await run('./bin/coven', ['help', 'land'], { cwd: projectRoot }), './bin/coven help land', /usage: coven land/);
});

test('the packed tarball has the runnable bins and a LICENSE, and no tests or benches', async () => {
  const out = await npm(['pack', '--dry-run', '--json'], projectRoot, { npm_config_ignore_scripts: 'true' });
  const files = (JSON.parse(out.stdout) as { files: { path: string; mode: number }[] }[])[0]!.files;
  const paths = files.map((f) => f.path);
  for (const want of ['LICENSE', 'README.md', 'bin/coven', 'bin/coven-worker', 'dist/scripts/coven.js', 'shims/coven', 'hooks/post-merge']) assert.ok(paths.includes(want), `the tarball has ${want}`);
  assert.equal(paths.filter((p) => /^dist\/(test|bench|build)\//.test(p)), [], 'no tests, benches or build scripts in the tarball');
  assert.match(readFileSync(join(projectRoot, 'LICENSE'), 'utf8'), /MIT License[\s\S]*the coven authors/);
  assert.is((JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { license: string }).license, 'MIT');
});

test('npm link, a global install of the packed tarball, and npx coven work from another directory, offline', async () => {
  const home = tempDir('coven-install-');
  const registry = await startLocalRegistry(projectRoot, home);
  try {
    const elsewhere = tempDir();
    const lockBefore = readFileSync(join(projectRoot, 'package-lock.json'));

    // npm link: the prefix's bin/coven is a link into this clone
    const linked = join(home, 'linked');
    await npm(['link'], projectRoot, npmEnv(registry.url, home, linked));
    assert.is(realpathSync(join(linked, 'lib', 'node_modules', 'coven')), realpathSync(projectRoot));
    assertRuns(await run(join(linked, 'bin', 'coven'), ['--version'], { cwd: elsewhere }), 'linked coven --version', new RegExp(`^${version}\n$`));
    assertRuns(await run(join(linked, 'bin', 'coven-worker'), ['--help'], { cwd: elsewhere }), 'linked coven-worker --help', /usage: coven worker/);
    assert.ok(readFileSync(join(projectRoot, 'package-lock.json')).equals(lockBefore), 'npm link left package-lock.json as it was');

    // the packed tarball, installed globally with its dependencies
    mkdirSync(join(home, 'pack'));
    const packed = await npm(['pack', '--json', '--pack-destination', join(home, 'pack')], projectRoot, npmEnv(registry.url, home, linked));
    const tarball = join(home, 'pack', (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);
    const global = join(home, 'global');
    await npm(['install', '-g', tarball], elsewhere, npmEnv(registry.url, home, global));
    assert.not.ok(lstatSync(join(global, 'lib', 'node_modules', 'coven')).isSymbolicLink(), 'a real copy, not a link');
    assert.ok(['zod', 'gray-matter', 'lockfile', 'minimist'].every((dep) => existsSync(join(global, 'lib', 'node_modules', 'coven', 'node_modules', dep, 'package.json')) || existsSync(join(global, 'lib', 'node_modules', dep, 'package.json'))), 'the dependencies were installed');
    assertRuns(await run(join(global, 'bin', 'coven'), ['--version'], { cwd: elsewhere }), 'installed coven --version', new RegExp(`^${version}\n$`));
    assertRuns(await run(join(global, 'bin', 'coven'), ['help', 'status'], { cwd: elsewhere }), 'installed coven help status', /usage: coven status/);
    assertRuns(await run(join(global, 'bin', 'coven-worker'), ['--help'], { cwd: elsewhere }), 'installed coven-worker --help', /usage: coven worker/);

    // npx finds the global install (the local registry has no package named coven)
    const npx = await run('npx', ['coven', '--help'], { cwd: elsewhere, env: npmEnv(registry.url, home, global), timeoutMs: 120_000 });
    assertRuns(npx, 'npx coven --help', /usage: coven <command>/);
    assert.equal(registry.requests.filter((r) => /^GET \/coven\b/.test(r)), [], 'npx asked no registry for coven');
    process.stdout.write(`\nfigures: the installs fetched ${registry.requests.length} files from the local registry\n`);
  } finally {
    await registry.close();
  }
});

test.run();
