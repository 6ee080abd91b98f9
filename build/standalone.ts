// standalone — bundles every step script into a single file under dist/standalone/, to
// be copied into any repository and run with plain node (no coven package, no
// node_modules): `node land-worktree.mjs`, `node worker-loop.mjs --once`. Also copies
// the git hooks there (plain sh files).
//
// A step is any dist/scripts/<name>.js that exports `main` (so a new step is bundled
// without a list to keep). The text files coven reads from its package (hooks/,
// templates/, package.json) are embedded in each bundle (lib/files/package-file.ts);
// `coven demo` is not bundled (coven.mjs says so). A bundled worker's agents run
// `coven …` through coven.mjs beside it (lib/session/agent-env.ts).
//
//   inputs:  dist/scripts/*.js (tsc output), hooks/, templates/, package.json
//   outputs: dist/standalone/<name>.mjs (executable), dist/standalone/hooks/<hook>;
//            the folder is made anew each time
//   exit:    0 built · 1 bundling failed

import { build, type Plugin } from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(dist, '..');
const out = join(dist, 'standalone');

/** The compiled scripts that are steps or commands: they export `main`. */
function steps(): string[] {
  const dir = join(dist, 'scripts');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.js') && /^export (async )?function main\(|^export \{[^}]*\bmain\b[^}]*\}/m.test(readFileSync(join(dir, name), 'utf8')))
    .map((name) => name.slice(0, -'.js'.length))
    .sort();
}

/** Every file under `dir` (relative to the package root) with its text. */
function texts(dir: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) Object.assign(found, texts(path));
    else found[path.split(sep).join('/')] = readFileSync(join(root, path), 'utf8');
  }
  return found;
}

/** The demo stays out of the bundles (it runs the test fake from a clone); coven.mjs says so. */
const noDemo: Plugin = {
  name: 'no-demo',
  setup(b) {
    b.onResolve({ filter: /demo\// }, (args) => {
      const path = resolve(args.resolveDir, args.path);
      return relative(dist, path).startsWith(`demo${sep}`) ? { path, namespace: 'no-demo' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'no-demo' }, () => ({
      contents: `export async function main() {\n  process.stderr.write('coven: the demo is not part of the copied bundles; run it from a clone of coven: ./bin/coven demo\\n');\n  return 1;\n}\n`,
      loader: 'js',
    }));
  },
};

async function bundle(name: string, embedded: Record<string, string>): Promise<void> {
  const entry = join(dist, 'scripts', `${name}.js`);
  const outfile = join(out, `${name}.mjs`);
  // esbuild keeps the entry's own `#!` line, but after the banner: never write two
  const shebang = readFileSync(entry, 'utf8').startsWith('#!') ? '' : '#!/usr/bin/env node\n';
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    legalComments: 'none',
    define: { __COVEN_EMBEDDED__: JSON.stringify(embedded) },
    plugins: [noDemo],
    // bundled CommonJS dependencies call require() for node builtins
    banner: { js: shebang + "import { createRequire as __covenCreateRequire } from 'node:module';\nconst require = __covenCreateRequire(import.meta.url);" },
  });
  chmodSync(outfile, 0o755);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'hooks'), { recursive: true });
const embedded = { ...texts('hooks'), ...texts('templates'), 'package.json': readFileSync(join(root, 'package.json'), 'utf8') };
await Promise.all(steps().map((name) => bundle(name, embedded)));
for (const hook of readdirSync(join(root, 'hooks'))) {
  copyFileSync(join(root, 'hooks', hook), join(out, 'hooks', hook));
  chmodSync(join(out, 'hooks', hook), 0o755);
}
