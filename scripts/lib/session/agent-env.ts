// agent-env — the environment of an agent session: the caller's, with a folder holding a
// `coven` shim first on PATH so the agent can run `coven issues` even when coven is not
// installed globally.
//
// From the package, that folder is <package>/shims. A single-file bundle copied into
// another repository (dist/standalone/) has no shims/ beside it: it writes its own shim,
// once, into a folder of this user's under the temp dir (one per bundle folder); the
// shim runs coven.mjs, the bundled command line, from the bundle's folder, and says
// what to copy when it is not there.

import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { isBundle, packageRoot } from '../files/package-file.js';
import { shellQuote } from '../ui/problem.js';

/** <package>/shims; in a bundle, the folder of this user's where the shim for the bundle's folder goes. */
export const shimsDir = isBundle ? join(tmpdir(), `coven-shims-${process.getuid?.() ?? 'user'}`, bundleKey(packageRoot)) : join(packageRoot, 'shims');

export function agentEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const path = base.PATH ?? '';
  if (path.split(delimiter).includes(shimsDir)) return { ...base };
  if (isBundle && !writeBundleShim()) return { ...base };
  return { ...base, PATH: path ? `${shimsDir}${delimiter}${path}` : shimsDir };
}

function bundleKey(dir: string): string {
  return createHash('sha256').update(dir).digest('hex').slice(0, 16);
}

/** The shim a bundle writes: runs coven.mjs from the bundle's folder with this node. */
function bundleShimText(bundleDir: string, node = process.execPath): string {
  const cli = join(bundleDir, 'coven.mjs');
  return `#!/bin/sh
# coven (shim) — lets agent sessions run \`coven …\` (e.g. \`coven issues\`): written by a
# coven bundle copied into ${bundleDir}; runs coven.mjs, the bundled command line, there.
c=${shellQuote(cli)}
if [ ! -f "$c" ]; then
  echo "coven: not available to this session: $c is missing. Copy coven.mjs from coven's dist/standalone/ beside the other bundles." >&2
  exit 127
fi
exec ${shellQuote(node)} "$c" "$@"
`;
}

/**
 * Writes <shimsDir>/coven when it is not already there as it should be. The parent is a
 * folder of this user's alone (0700): anything else there (another user's folder, a
 * symlink) and no shim is written. False when there is no shim.
 */
function writeBundleShim(): boolean {
  const parent = join(shimsDir, '..');
  try {
    mkdirSync(parent, { recursive: true, mode: 0o700 });
    const st = lstatSync(parent);
    if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid()) || (st.mode & 0o077) !== 0) return false;
    mkdirSync(shimsDir, { recursive: true, mode: 0o700 });
    const path = join(shimsDir, 'coven');
    const text = bundleShimText(packageRoot);
    if (readOrNull(path) === text) return true;
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o755 });
    renameSync(tmp, path);
    return true;
  } catch {
    return false;
  }
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
