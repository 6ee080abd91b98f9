// session-log — where a worker's session logs go: `<state dir>/logs/<worker>/<n>-<agent>.jsonl`.

import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { workerLogDir } from '../worker/state-dir.js';

/**
 * Reserves the next session log file of a worker: `<state dir>/logs/<worker>/<n>-<agent>.jsonl`,
 * n counting up from 001 (created empty and exclusively, so two callers never share one).
 */
export function reserveLogFile(stateDir: string, worker: string, agent: string): string {
  const dir = workerLogDir(stateDir, worker);
  for (const folder of [dirname(dir), dir]) ownFolder(folder);
  mkdirSync(dir, { recursive: true });
  const safeAgent = agent.replace(/[^A-Za-z0-9_-]/g, '-');
  let n = 1 + Math.max(0, ...readdirSync(dir).map((f) => Number(/^(\d+)-/.exec(f)?.[1] ?? 0)));
  for (;;) {
    const file = join(dir, `${String(n).padStart(3, '0')}-${safeAgent}.jsonl`);
    try {
      closeSync(openSync(file, 'wx'));
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      n++;
    }
  }
}

/**
 * `path` is coven's own folder: a link (or a file) found there was not made by coven; it
 * is moved aside (`<path>.not-coven-<time>`, what it points to untouched), so a log is
 * never written where a link points.
 */
function ownFolder(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // missing: mkdir makes it
  }
  if (st.isDirectory()) return;
  renameSync(path, `${path}.not-coven-${Date.now()}`);
}
