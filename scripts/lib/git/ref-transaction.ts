// ref-transaction — several ref changes as one `git update-ref --stdin` transaction: git
// locks every ref, checks each against the value it expects, and then changes all of them
// or none. The land moves main this way together with the updates its caller adds (the
// job claim's tombstone, lib/worker/claim-keeper.ts), as a land in remote mode pushes
// them together (lib/remote/git-remote.ts pushAtomic).
//
// The text goes to git's stdin (or, in lib/land/locked-merge.ts, through an sh script's
// argument to printf): each line is checked here, so no ref name or id can add a line.

import type { RefUpdate } from '../remote/git-remote.js';

/** One change of a local transaction: `expect` a commit id (compare-and-swap) or null (the ref must not exist). */
export interface LocalRefUpdate {
  ref: string;
  to: string | null;
  expect: string | null;
}

const OBJECT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
/**
 * A full ref name as git check-ref-format allows it (a branch may be named like a shell
 * command: `$(touch x)` is a valid name): no space, control character or `~^:?*[\`,
 * which also means nothing that could end or split a line of the transaction.
 */
const REF_NAME = /^refs\/[^\x00-\x20\x7f~^:?*[\\]+$/;

/**
 * The update-ref --stdin text for these changes; null when one cannot be written as a
 * local compare-and-swap (a bad ref name or id, or 'fast-forward', which only a push checks).
 */
export function transactionText(updates: readonly (LocalRefUpdate | RefUpdate)[]): string | null {
  const lines: string[] = [];
  for (const u of updates) {
    if (!REF_NAME.test(u.ref) || u.ref.includes('..') || u.ref.includes('@{') || u.ref.includes('//') || u.ref.endsWith('.lock') || u.ref.endsWith('/')) return null;
    if (u.expect === 'fast-forward') return null;
    if (u.to !== null && !OBJECT_ID.test(u.to)) return null;
    if (u.expect !== null && !OBJECT_ID.test(u.expect)) return null;
    if (u.to === null && u.expect === null) return null; // delete what must not exist: nothing to do, and not a CAS
    if (u.to === null) lines.push(`delete ${u.ref} ${u.expect}`);
    else if (u.expect === null) lines.push(`create ${u.ref} ${u.to}`);
    else lines.push(`update ${u.ref} ${u.to} ${u.expect}`);
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** The updates whose ref does not hold what it expected, given what each holds now (null: missing). */
export function staleUpdates<U extends LocalRefUpdate | RefUpdate>(updates: readonly U[], now: (ref: string) => string | null): U[] {
  return updates.filter((u) => u.expect !== 'fast-forward' && now(u.ref) !== u.expect);
}
