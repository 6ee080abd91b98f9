// copy-tree — copies files and folders the way `cp -a` does: file modes kept, symlinks
// copied as symlinks (targets unchanged, never followed), modification times kept.
// Each file is a copy-on-write clone where the filesystem can make one (Btrfs, XFS,
// APFS: fs.copyFile with COPYFILE_FICLONE_FORCE) and a real copy otherwise; never a hard
// link, so editing a copy can never change the original.
//
// Speed: many small files (node_modules) cost system calls, not bytes. The work is spread
// over a few worker threads that each copy whole sub-folders with synchronous fs calls
// (back to back like cp, but on every core). The worker code is passed to each thread as
// source text, so the bundled standalone script needs no second file.
//
// Inputs:  jobs {src, dst} (absolute paths; the parent of dst is created), paths to leave
//          out (other worktrees inside an ignored folder), COVEN_COPY_THREADS (default:
//          the number of cores, 2 to 4). A folder named `.git` is never copied. A file
//          that already exists at the destination is left alone; folders are merged into.
// Outputs: counts, or the first error with its path (what was copied until then stays:
//          the caller decides whether to remove it).

import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, sep } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface CopyJob {
  src: string;
  dst: string;
}

export interface CopyCounts {
  /** regular files and symlinks created */
  files: number;
  /** folders created */
  dirs: number;
  /** bytes in the regular files created */
  bytes: number;
  /** files cloned copy-on-write */
  cloned: number;
  /** files copied byte by byte (no copy-on-write here) */
  copied: number;
  /** left alone: already at the destination, or a socket / FIFO / device */
  skipped: number;
}

export interface CopyError {
  path: string;
  code: string;
  message: string;
}

export type CopyOutcome = { kind: 'copied'; counts: CopyCounts } | { kind: 'failed'; counts: CopyCounts; error: CopyError };

type FsModule = typeof import('node:fs');

interface Copier {
  counts: CopyCounts;
  copyEntry(src: string, dst: string): void;
}

/**
 * The copier itself. It must stay self-contained (no reference to anything outside its
 * body) because worker threads receive its source text.
 */
function createCopier(fsm: FsModule, pathSep: string, exclude: Set<string>): Copier {
  const C = fsm.constants;
  const counts: CopyCounts = { files: 0, dirs: 0, bytes: 0, cloned: 0, copied: 0, skipped: 0 };
  let cloneWorks = true;
  const codeOf = (e: unknown) => (e as { code?: string }).code;

  function copyFile(src: string, dst: string): boolean {
    if (cloneWorks) {
      try {
        fsm.copyFileSync(src, dst, C.COPYFILE_EXCL | C.COPYFILE_FICLONE_FORCE);
        counts.cloned++;
        return true;
      } catch (e) {
        if (codeOf(e) === 'EEXIST') return false;
      }
    }
    try {
      fsm.copyFileSync(src, dst, C.COPYFILE_EXCL);
    } catch (e) {
      if (codeOf(e) === 'EEXIST') return false;
      throw e;
    }
    cloneWorks = false; // a clone failed where a plain copy works: this filesystem cannot clone
    counts.copied++;
    return true;
  }

  function copyEntry(src: string, dst: string): void {
    if (exclude.has(src)) return;
    const st = fsm.lstatSync(src);
    if (st.isDirectory()) {
      try {
        fsm.mkdirSync(dst, 0o700);
      } catch (e) {
        if (codeOf(e) !== 'EEXIST') throw e;
        if (!fsm.lstatSync(dst).isDirectory()) counts.skipped++;
        else for (const name of fsm.readdirSync(src)) if (name !== '.git') copyEntry(src + pathSep + name, dst + pathSep + name);
        return; // a folder that was already there keeps its own mode and time
      }
      counts.dirs++;
      for (const name of fsm.readdirSync(src)) if (name !== '.git') copyEntry(src + pathSep + name, dst + pathSep + name);
      fsm.chmodSync(dst, st.mode & 0o7777);
      fsm.utimesSync(dst, st.atimeMs / 1000, st.mtimeMs / 1000);
    } else if (st.isSymbolicLink()) {
      try {
        fsm.symlinkSync(fsm.readlinkSync(src), dst);
      } catch (e) {
        if (codeOf(e) !== 'EEXIST') throw e;
        counts.skipped++;
        return;
      }
      fsm.lutimesSync(dst, st.atimeMs / 1000, st.mtimeMs / 1000);
      counts.files++;
    } else if (st.isFile()) {
      if (!copyFile(src, dst)) {
        counts.skipped++;
        return;
      }
      fsm.utimesSync(dst, st.atimeMs / 1000, st.mtimeMs / 1000);
      counts.files++;
      counts.bytes += st.size;
    } else {
      counts.skipped++;
    }
  }

  return { counts, copyEntry };
}

interface WorkerReply {
  counts: CopyCounts;
  error?: CopyError;
}

/** What runs in each worker thread (self-contained too: it gets its modules from `req`). */
function workerMain(req: NodeRequire, makeCopier: typeof createCopier): void {
  const { parentPort, workerData } = req('node:worker_threads') as typeof import('node:worker_threads');
  const copier = makeCopier(req('node:fs') as FsModule, (req('node:path') as typeof import('node:path')).sep, new Set(workerData as string[]));
  parentPort?.on('message', (jobs: [string, string][]) => {
    const before = { ...copier.counts };
    let error: CopyError | undefined;
    try {
      for (const [src, dst] of jobs) copier.copyEntry(src, dst);
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { dest?: string };
      error = { path: err.dest ?? err.path ?? '', code: err.code ?? 'EUNKNOWN', message: err.message };
    }
    const c = copier.counts;
    const counts = {
      files: c.files - before.files,
      dirs: c.dirs - before.dirs,
      bytes: c.bytes - before.bytes,
      cloned: c.cloned - before.cloned,
      copied: c.copied - before.copied,
      skipped: c.skipped - before.skipped,
    };
    parentPort.postMessage(error ? { counts, error } : { counts });
  });
}

const workerSource = `(${workerMain.toString()})(require, ${createCopier.toString()})`;

/** at most this many copying threads: each is a whole JavaScript engine (tens of MB) */
export const MAX_COPY_THREADS = 16;

/** How many threads copy at once: COVEN_COPY_THREADS (at most MAX_COPY_THREADS), else the number of cores (2 to 4). */
export function copyThreads(): number {
  const fromEnv = Number(process.env.COVEN_COPY_THREADS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return Math.min(fromEnv, MAX_COPY_THREADS);
  return Math.min(4, Math.max(2, availableParallelism()));
}

interface Item extends CopyJob {
  dir: boolean;
}

export interface CopyPool {
  /** Copies every job (see the header for what is kept and what is left out); use once. */
  copy(jobs: CopyJob[]): Promise<CopyOutcome>;
  /** Stops the threads: after copy, or instead of it. */
  close(): Promise<void>;
}

/**
 * Starts the copying threads at once (each takes a few tens of milliseconds to boot), so
 * that a caller can overlap their start with other work before calling copy().
 */
export function openCopyPool(opts: { exclude?: string[]; threads?: number } = {}): CopyPool {
  const exclude = new Set(opts.exclude ?? []);
  const workers = Array.from({ length: opts.threads ?? copyThreads() }, () => {
    const worker = new Worker(workerSource, { eval: true, workerData: [...exclude] });
    worker.on('error', () => {}); // reported by copyInWorkers; never an unhandled crash
    return worker;
  });
  return {
    copy: (jobs) => copyWith(jobs, exclude, workers),
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/** Copies every job with a pool opened for the occasion. */
export async function copyTrees(jobs: CopyJob[], opts: { exclude?: string[]; threads?: number } = {}): Promise<CopyOutcome> {
  const pool = openCopyPool(opts);
  try {
    return await pool.copy(jobs);
  } finally {
    await pool.close();
  }
}

async function copyWith(jobs: CopyJob[], exclude: Set<string>, workers: Worker[]): Promise<CopyOutcome> {
  const splitCounts: CopyCounts = { files: 0, dirs: 0, bytes: 0, cloned: 0, copied: 0, skipped: 0 };
  const expanded: { dst: string; st: fs.Stats }[] = [];
  let items: Item[];
  try {
    for (const job of jobs) fs.mkdirSync(dirname(job.dst), { recursive: true });
    items = splitFolders(jobs, Math.max(1, workers.length) * 16, exclude, splitCounts, expanded);
  } catch (e) {
    return { kind: 'failed', counts: splitCounts, error: errorOf(e) };
  }

  const small = workers.length === 0 || (items.length <= 64 && !items.some((i) => i.dir));
  const outcome = small ? copyHere(createCopier(fs, sep, exclude), items) : await copyInWorkers(items, workers);
  const counts = addCounts(splitCounts, outcome.counts);
  if (outcome.error) return { kind: 'failed', counts, error: outcome.error };
  try {
    for (const { dst, st } of expanded.reverse()) {
      fs.chmodSync(dst, st.mode & 0o7777);
      fs.utimesSync(dst, st.atimeMs / 1000, st.mtimeMs / 1000);
    }
  } catch (e) {
    return { kind: 'failed', counts, error: errorOf(e) };
  }
  return { kind: 'copied', counts };
}

/**
 * Opens folders (creating them at the destination) until there are enough pieces to keep
 * every thread busy; `expanded` gets the folders whose mode and time are set at the end.
 */
function splitFolders(jobs: CopyJob[], enough: number, exclude: Set<string>, counts: CopyCounts, expanded: { dst: string; st: fs.Stats }[]): Item[] {
  let items: Item[] = jobs.filter((j) => !exclude.has(j.src)).map((j) => ({ ...j, dir: fs.lstatSync(j.src).isDirectory() }));
  for (let depth = 0; depth < 3 && items.length < enough && items.some((i) => i.dir); depth++) {
    const next: Item[] = [];
    for (const item of items) {
      if (!item.dir) {
        next.push(item);
        continue;
      }
      const st = fs.lstatSync(item.src);
      try {
        fs.mkdirSync(item.dst, 0o700);
        counts.dirs++;
        expanded.push({ dst: item.dst, st });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        if (!fs.lstatSync(item.dst).isDirectory()) {
          counts.skipped++;
          continue;
        }
      }
      for (const entry of fs.readdirSync(item.src, { withFileTypes: true })) {
        const src = item.src + sep + entry.name;
        if (entry.name === '.git' || exclude.has(src)) continue;
        next.push({ src, dst: item.dst + sep + entry.name, dir: entry.isDirectory() });
      }
    }
    items = next;
  }
  return items;
}

function copyHere(copier: Copier, items: Item[]): WorkerReply {
  try {
    for (const item of items) copier.copyEntry(item.src, item.dst);
  } catch (e) {
    return { counts: copier.counts, error: errorOf(e) };
  }
  return { counts: copier.counts };
}

/** Hands the items to the worker threads, a few at a time, until done or one fails. */
function copyInWorkers(items: Item[], workers: Worker[]): Promise<WorkerReply> {
  const total: CopyCounts = { files: 0, dirs: 0, bytes: 0, cloned: 0, copied: 0, skipped: 0 };
  let next = 0;
  let error: CopyError | undefined;
  const batchSize = Math.max(1, Math.min(16, Math.floor(items.length / (workers.length * 8))));
  const finished = workers.map(
    (worker) =>
      new Promise<void>((resolveWorker) => {
        let busy = false;
        const give = () => {
          if (error || next >= items.length) return resolveWorker();
          const batch = items.slice(next, next + batchSize).map((i): [string, string] => [i.src, i.dst]);
          next += batch.length;
          busy = true;
          worker.postMessage(batch);
        };
        worker.on('message', (reply: WorkerReply) => {
          busy = false;
          Object.assign(total, addCounts(total, reply.counts));
          if (reply.error && !error) error = reply.error;
          give();
        });
        worker.on('error', (e) => {
          if (!error) error = errorOf(e);
          resolveWorker();
        });
        worker.on('exit', (code) => {
          if (busy && !error) error = { path: '', code: 'EWORKER', message: `a copying thread stopped (exit code ${code})` };
          resolveWorker();
        });
        give();
      }),
  );
  return Promise.all(finished).then(() => (error ? { counts: total, error } : { counts: total }));
}

function addCounts(a: CopyCounts, b: CopyCounts): CopyCounts {
  return {
    files: a.files + b.files,
    dirs: a.dirs + b.dirs,
    bytes: a.bytes + b.bytes,
    cloned: a.cloned + b.cloned,
    copied: a.copied + b.copied,
    skipped: a.skipped + b.skipped,
  };
}

function errorOf(e: unknown): CopyError {
  const err = e as NodeJS.ErrnoException & { dest?: string };
  return { path: err.dest ?? err.path ?? '', code: err.code ?? 'EUNKNOWN', message: err.message ?? String(e) };
}
