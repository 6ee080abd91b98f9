// read-capped — the one way coven reads a file it did not write itself this instant
// (agent files, issues, state files, the files one step hands the next): a regular
// file only (never a FIFO, a device or a directory, which could hang or flood the
// reader), opened without following a symlink at its own name, and at most `maxBytes`.
// Every way that can go wrong is a value that names the file.

import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export type CappedRead =
  | { kind: 'read'; text: string; bytes: Buffer; ino: number; mtimeMs: number }
  | { kind: 'missing'; path: string }
  | { kind: 'not-a-file'; path: string; what: string }
  | { kind: 'too-big'; path: string; bytes: number; maxBytes: number }
  | { kind: 'unreadable'; path: string; message: string };

/** 1 MiB: more than any prompt, issue or state file coven writes. */
export const DEFAULT_MAX_BYTES = 1024 * 1024;

export async function readCapped(path: string, maxBytes = DEFAULT_MAX_BYTES, opts: { followSymlink?: boolean } = {}): Promise<CappedRead> {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (opts.followSymlink ? 0 : constants.O_NOFOLLOW);
  let handle;
  try {
    handle = await open(path, flags);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing', path };
    if (code === 'ELOOP') return { kind: 'not-a-file', path, what: 'a symbolic link' };
    return { kind: 'unreadable', path, message: (err as Error).message };
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return { kind: 'not-a-file', path, what: st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device or special file' };
    if (st.size > maxBytes) return { kind: 'too-big', path, bytes: st.size, maxBytes };
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > maxBytes) return { kind: 'too-big', path, bytes: got, maxBytes }; // grew while read
    }
    const bytes = buf.subarray(0, got);
    return { kind: 'read', text: bytes.toString('utf8'), bytes, ino: st.ino, mtimeMs: st.mtimeMs };
  } catch (err) {
    return { kind: 'unreadable', path, message: (err as Error).message };
  } finally {
    await handle.close();
  }
}

/** One line that says why a read failed, naming the file. */
export function describeCappedRead(r: Exclude<CappedRead, { kind: 'read' }>): string {
  return `${r.path}: ${whyNotRead(r)}`;
}

/** Why a read failed, without the file's name ("is a FIFO, not a regular file"). */
export function whyNotRead(r: Exclude<CappedRead, { kind: 'read' }>): string {
  switch (r.kind) {
    case 'missing':
      return 'no such file';
    case 'not-a-file':
      return `is ${r.what}, not a regular file`;
    case 'too-big':
      return `${r.bytes} bytes, over the limit of ${r.maxBytes}`;
    case 'unreadable':
      return r.message;
  }
}
