// write-atomic — write a whole file so that a reader sees the old content or the new,
// never half of it: a temporary file beside it, then rename. The temporary file is
// created new (O_EXCL: a link planted at its name is never written through), and the
// rename replaces a link at the file's own name instead of writing where it points.

import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, text, { flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') await rm(tmp, { force: true }); // (never what was there before)
    throw err;
  }
}

/**
 * Why `writeAtomic(path, …)` could not work, checked before a step does its work (so a
 * bad --out is refused before an agent runs, not after): a folder at `path`, or
 * something that is not a folder where its folder goes. Null when it looks writable.
 */
export async function writeTargetProblem(path: string): Promise<string | null> {
  const st = await lstat(path).catch(() => null);
  if (st?.isDirectory()) return `${path} is a folder; give the path of a file`;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const d = await stat(dir).catch(() => null);
    if (d && !d.isDirectory()) return `${dir} is not a folder, so ${path} cannot be written`;
    if (d || dirname(dir) === dir) return null;
  }
}
