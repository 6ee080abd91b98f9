// hook-text — the names, marker and text of coven's wake hooks (the files in the
// package's hooks/ folder), shared by install and the manager checks.

import { packageText } from '../files/package-file.js';

export const HOOK_NAMES = ['post-commit', 'post-merge'] as const;
export type HookName = (typeof HOOK_NAMES)[number];
export const HOOK_MARKER = '# coven-hook';
export const CHAINED_SUFFIX = '.coven-chained';

/** The text coven writes for a hook (the package's hooks/<name>, embedded in a bundle). */
export async function hookText(name: HookName): Promise<string> {
  return packageText(`hooks/${name}`);
}

export function isCovenHook(text: string): boolean {
  return text.split('\n').some((l) => l.startsWith(HOOK_MARKER));
}
