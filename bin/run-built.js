// run-built — what bin/coven and bin/coven-worker share: find the built command table,
// dist/scripts/coven.js, next to this file's real path (symlinks resolved, so npm link
// and a global install find it too), run it, and exit with its code. When coven is not
// built (or a dependency is missing) it says what to run, in which folder, and exits 1.
//
// CommonJS (bin/package.json says so), loading the ES modules with import(): Node 20
// before 20.10 refuses to run a file without an extension as an ES module, and
// CommonJS runs on every Node.
'use strict';

const { existsSync, realpathSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { pathToFileURL } = require('node:url');

const root = dirname(dirname(realpathSync(__filename)));
const built = join(root, 'dist', 'scripts', 'coven.js');

/** Prints what to run in `root` (npm ci installs and builds), then exits 1. */
function cannotLoad(what, next) {
  process.stderr.write(`coven: ${what}\n  Nothing was run. To build coven, run this, then try again:\n    cd ${shellQuote(root)} && ${next}\n`);
  process.exit(1);
}

function shellQuote(s) {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs `coven <command...> <this process's arguments>`. */
function runBuilt(command) {
  if (!existsSync(built)) cannotLoad(`coven is not built here (${built} is missing).`, existsSync(join(root, 'node_modules')) ? 'npm run build' : 'npm ci');
  import(pathToFileURL(built).href).then(
    // coven's own exitWhenWritten (scripts/lib/ui/entry.ts): output queued for a pipe is not cut off
    (coven) => coven.main([...command, ...process.argv.slice(2)]).then(coven.exitWhenWritten, (err) => coven.exitWhenWritten(unexpected(err))),
    (err) => {
      if (err && err.code === 'ERR_MODULE_NOT_FOUND') cannotLoad(`coven's built code cannot be loaded: ${String(err.message).split('\n')[0]}`, 'npm ci');
      process.exit(unexpected(err)); // nothing of coven's ran, so nothing else is queued
    },
  );
}

/** Says what went wrong; returns the exit code, 1. */
function unexpected(err) {
  process.stderr.write(`coven: unexpected error: ${err instanceof Error ? err.stack || err.message : String(err)}\n`);
  return 1;
}

module.exports = { runBuilt };
