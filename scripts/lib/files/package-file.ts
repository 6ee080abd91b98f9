// package-file — the text files coven ships beside its code (hooks/, templates/,
// package.json), read from the package; in a single-file bundle (dist/standalone/, made
// by build/standalone.ts) the same texts are embedded at build time, so a bundle copied
// into another repository needs nothing beside it.
//
// Inputs: a path relative to the package root ("hooks/post-commit"). Outputs: its text.

import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Set by esbuild's `define` when bundling (build/standalone.ts): every shipped text file,
 * by its path from the package root. Undefined in the tsc build.
 */
declare const __COVEN_EMBEDDED__: Readonly<Record<string, string>> | undefined;

const embedded = typeof __COVEN_EMBEDDED__ !== 'undefined' ? __COVEN_EMBEDDED__ : undefined;

/** True inside a single-file bundle (dist/standalone/*.mjs). */
export const isBundle: boolean = embedded !== undefined;

/** The package root (this file is <root>/dist/scripts/lib/files/package-file.js once built; in a bundle, the bundle's folder). */
export const packageRoot: string = isBundle ? dirname(fileURLToPath(import.meta.url)) : resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** The text of a file shipped with coven, by its path from the package root. */
export async function packageText(path: string): Promise<string> {
  if (embedded !== undefined) {
    const text = embedded[path];
    if (text === undefined) throw new Error(`${path} is not embedded in this bundle (${fileURLToPath(import.meta.url)}); build/standalone.ts lists what it embeds`);
    return text;
  }
  return readFile(join(packageRoot, path), 'utf8');
}
