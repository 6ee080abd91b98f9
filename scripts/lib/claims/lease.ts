// lease — whether a claim's holder is gone, judged by this observer (claim.ts, "Lease").
//
// Each observer keeps a book, <state dir>/claims-seen.json: for every claim ref it read,
// the commit the ref pointed at and when (on this observer's clock) it first saw that
// commit. A claim whose ref has pointed at the same commit for lease_ms since then has
// not been heartbeaten: its lease ran out. The holder's own clock (heartbeat_at) is never
// used: machines may disagree by minutes, or hours. A holder on this host is judged by
// its process instead, at once: a dead or reused pid is gone; a live one is never expired.
// A damaged claim (no record) is judged by the book alone, with the default lease.
//
// The book is written whole and atomically; a damaged book reads as empty (every claim
// is then seen for the first time: leases only start again, never end early). Two
// observers writing at once may lose an entry of the other's: it is seen again later,
// which again only makes a lease look longer.
//
// Its size: a read of every ref under a prefix drops the entries of that prefix whose
// refs are gone. Only when the refs still there exceed MAX_BOOK_ENTRIES does it forget
// some of them, the ones it first saw last: an entry forgotten and seen again starts
// anew, so the earliest times (the leases nearest to running out) are the ones kept.
// Entries of other prefixes are left alone (their own reads prune them); the whole book
// never holds more than MAX_BOOK_TOTAL entries, the earliest kept.
//
// Inputs: the state dir, claim refs as read, the time. Outputs: values.

import { join } from 'node:path';
import { z } from 'zod';
import { readCapped } from '../files/read-capped.js';
import { writeAtomic } from '../files/write-atomic.js';
import { livenessOf } from '../locks/process-identity.js';
import { leaseMs, type Holder } from './claim.js';
import type { ClaimRaw } from './claim-object.js';

export const BOOK_FILE = 'claims-seen.json';
const BOOK_FORMAT = 'claims-seen/1';
/** entries kept at most for the refs under one prefix (claims, or worker states); far more claims than a repository has jobs */
export const MAX_BOOK_ENTRIES = 5_000;
/** entries kept at most in the whole book (a few prefixes: local claims, each remote's claims and workers) */
export const MAX_BOOK_TOTAL = 4 * MAX_BOOK_ENTRIES;
const MAX_BOOK_BYTES = 32 * 1024 * 1024; // MAX_BOOK_TOTAL entries of refs up to 1000 characters
const MAX_LEASE_MS = 86_400_000;

export interface Seen {
  sha: string;
  first_seen_ms: number;
}
/** ref (as read here: a mirror ref for a remote's claim) → what this observer saw there first, and when */
export type Book = Map<string, Seen>;

const BookSchema = z.object({ coven: z.literal(BOOK_FORMAT), seen: z.record(z.string(), z.unknown()) });
const SeenSchema = z.object({ sha: z.string().regex(/^[0-9a-f]{40,64}$/), first_seen_ms: z.number().finite() });
/** a ref name longer than this is not kept (its entry is dropped when read: its lease starts again) */
const MAX_REF_CHARS = 1000;

export function bookPath(stateDir: string): string {
  return join(stateDir, BOOK_FILE);
}

/**
 * The book; empty when missing or damaged. An entry that is not valid (a ref name over
 * MAX_REF_CHARS, which another machine may push) is dropped alone: one bad entry must not
 * start every lease again at each read.
 */
export async function readBook(stateDir: string): Promise<Book> {
  const r = await readCapped(bookPath(stateDir), MAX_BOOK_BYTES);
  if (r.kind !== 'read') return new Map();
  let parsed: ReturnType<typeof BookSchema.safeParse>;
  try {
    parsed = BookSchema.safeParse(JSON.parse(r.text));
  } catch {
    return new Map();
  }
  const book: Book = new Map();
  if (!parsed.success) return book;
  for (const [ref, value] of Object.entries(parsed.data.seen)) {
    const seen = SeenSchema.safeParse(value);
    if (seen.success && ref.length <= MAX_REF_CHARS) book.set(ref, seen.data);
  }
  return book;
}

/** Writes the book, at most MAX_BOOK_TOTAL entries: the earliest seen are kept (forgetting one can only restart its lease). */
export async function writeBook(stateDir: string, book: Book): Promise<void> {
  const entries = earliestFirst([...book.entries()]).slice(0, MAX_BOOK_TOTAL);
  await writeAtomic(bookPath(stateDir), JSON.stringify({ coven: BOOK_FORMAT, seen: Object.fromEntries(entries) }) + '\n');
}

/** Entries by the time first seen, earliest first (ties: by ref, so every observer forgets the same ones). */
function earliestFirst(entries: [string, Seen][]): [string, Seen][] {
  return entries.sort((a, b) => a[1].first_seen_ms - b[1].first_seen_ms || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * Notes what was read into the book and returns it: a ref at a commit not seen there
 * before is first seen `now`. `scope`: the refs this read covered (a prefix, or one ref);
 * entries in scope that were not read are gone from the book. Over MAX_BOOK_ENTRIES refs
 * under a prefix, the ones first seen last are forgotten. Written only when changed.
 */
export async function observe(stateDir: string, raws: Pick<ClaimRaw, 'ref' | 'sha'>[], scope: { prefix: string } | { ref: string }, now: number): Promise<Book> {
  const book = await readBook(stateDir);
  let changed = false;
  const read = new Set(raws.map((r) => r.ref));
  for (const ref of [...book.keys()]) {
    const inScope = 'prefix' in scope ? ref.startsWith(scope.prefix) : ref === scope.ref;
    if (inScope && !read.has(ref)) changed = book.delete(ref) || changed;
  }
  for (const raw of raws) {
    if (book.get(raw.ref)?.sha === raw.sha) continue;
    book.set(raw.ref, { sha: raw.sha, first_seen_ms: now });
    changed = true;
  }
  if ('prefix' in scope && read.size > MAX_BOOK_ENTRIES) {
    // every entry left in scope is a ref that is there now: keep the earliest seen
    const inScope = earliestFirst([...book.entries()].filter(([ref]) => ref.startsWith(scope.prefix)));
    for (const [ref] of inScope.slice(MAX_BOOK_ENTRIES)) changed = book.delete(ref) || changed;
  }
  if (changed) await writeBook(stateDir, book).catch(() => undefined); // an unwritable book: leases start again next time
  return book;
}

/** Notes this observer's own write: `ref` points at `sha` (null: deleted) from `now` on. */
export async function noteWrite(stateDir: string, ref: string, sha: string | null, now: number): Promise<void> {
  const book = await readBook(stateDir);
  if (sha === null) book.delete(ref);
  else book.set(ref, { sha, first_seen_ms: now });
  await writeBook(stateDir, book).catch(() => undefined);
}

/** Whether a holder's process runs: on this host it can be checked; elsewhere it cannot. */
export type HolderLiveness = (h: Holder) => 'alive' | 'dead' | 'elsewhere';

export const holderAliveHere: HolderLiveness = (h) => {
  const l = livenessOf({ host: h.host, pid: h.pid, start: h.pid_start });
  return l.kind === 'unknown' ? 'elsewhere' : l.kind;
};

export interface LeaseJudgement {
  expired: boolean;
  why: 'lease-expired' | 'holder-dead' | null;
  /** how long this observer has seen the ref at this very commit */
  unchanged_ms: number;
}

/**
 * The lease of one claim as read. Released claims (tombstones) never expire: what may be
 * done with them is the take's business. `now`: this observer's clock.
 */
export function judgeLease(raw: ClaimRaw, book: Book, now: number, alive: HolderLiveness = holderAliveHere, env: NodeJS.ProcessEnv = process.env): LeaseJudgement {
  const seen = book.get(raw.ref);
  const unchanged_ms = seen && seen.sha === raw.sha ? Math.max(0, now - seen.first_seen_ms) : 0;
  const record = raw.record;
  if (record && record.state !== 'held') return { expired: false, why: null, unchanged_ms };
  if (record) {
    const here = alive(record.holder);
    if (here === 'dead') return { expired: true, why: 'holder-dead', unchanged_ms };
    if (here === 'alive') return { expired: false, why: null, unchanged_ms };
  }
  const lease = Math.min(record?.lease_ms ?? leaseMs(env), MAX_LEASE_MS);
  return unchanged_ms >= lease ? { expired: true, why: 'lease-expired', unchanged_ms } : { expired: false, why: null, unchanged_ms };
}

/** Whether a claim is expired for this observer (judgeLease, as a yes or no). */
export function expired(raw: ClaimRaw, book: Book, now: number, alive: HolderLiveness = holderAliveHere): boolean {
  return judgeLease(raw, book, now, alive).expired;
}
