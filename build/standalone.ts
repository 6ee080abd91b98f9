// standalone — bundles the copyable step scripts into single files under
// dist/standalone/ (no imports, no node_modules needed): `node land-worktree.mjs`.
//
//   inputs:  dist/scripts/<name>.js (tsc output)
//   outputs: dist/standalone/<name>.mjs, executable; exit 1 if bundling fails

import { build } from 'esbuild';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const copyable = ['spawn-worktree', 'land-worktree'];

for (const name of copyable) {
  const entry = join(dist, 'scripts', `${name}.js`);
  if (!existsSync(entry)) continue;
  const outfile = join(dist, 'standalone', `${name}.mjs`);
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
    // bundled CommonJS dependencies call require() for node builtins
    banner: { js: shebang + "import { createRequire as __covenCreateRequire } from 'node:module';\nconst require = __covenCreateRequire(import.meta.url);" },
  });
  chmodSync(outfile, 0o755);
}
