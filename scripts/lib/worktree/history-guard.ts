// history-guard — undoes what an agent's job did to how history looks to the human's git.
//
// Replace refs (`git replace`) and a grafts file (`.git/info/grafts`) are shared by every
// worktree and change what a commit's parents and tree look like. coven's own git ignores
// both (lib/git/runner.ts, REAL_HISTORY), so a land is always computed on the real
// commits; but the human's git would go on showing a history that is not there (a clone
// or a push never carries it). So, after the job:
//   - a replace ref the job made or changed is moved to
//     refs/coven/replace/<worker>/<time>/<what it replaced>;
//   - a grafts file the job made or changed is moved to <state dir>/set-aside/grafts-<worker>-<time>.
// Those there before the job are the human's and stay as they were.
// Inputs: the worktree, the worker's name. Outputs: where each was moved (for the message).

import { lstatSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { git, gitOut } from '../git/runner.js';
import { covenRef, covenStamp, keepAt } from './save-work.js';
import { shallowBefore, undoShallowFetch, type ShallowUndone } from './shallow-guard.js';
import { refsUnder } from '../git/refs.js';

export interface HistoryMark {
  /** refs/replace/<name> → the commit it points at */
  replace: Map<string, string>;
  /** the grafts file as lstat saw it (null: none) */
  grafts: string | null;
  graftsPath: string;
  stateDir: string;
  commonDir: string;
  /** a shallow file was there before the job (the human's shallow clone) */
  shallow: boolean;
}

export interface HistorySetAside {
  /** the replace refs moved, as their new names under refs/coven/replace/ */
  replace: string[];
  /** where the grafts file went (null: it was left alone) */
  grafts: string | null;
  /** a shallow file the job made (`git fetch --depth`): moved aside, or left and why (shallow-guard.ts) */
  shallow?: ShallowUndone;
}

function fileSignature(path: string): string | null {
  try {
    const s = lstatSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.mode}`;
  } catch {
    return null;
  }
}

export async function markHistory(worktree: string): Promise<HistoryMark> {
  const commonDir = await gitOut(worktree, ['rev-parse', '--path-format=absolute', '--git-common-dir']);
  const graftsPath = join(commonDir, 'info', 'grafts');
  return { replace: await refsUnder(worktree, 'refs/replace/'), grafts: fileSignature(graftsPath), graftsPath, stateDir: join(commonDir, 'coven'), commonDir, shallow: shallowBefore(commonDir) };
}

export async function setAsideHistoryChanges(worktree: string, worker: string, mark: HistoryMark): Promise<HistorySetAside> {
  const out: HistorySetAside = { replace: [], grafts: null };
  const at = new Date();
  const prefix = covenRef('replace', worker, at);
  const stamp = covenStamp(at);
  for (const [ref, oid] of await refsUnder(worktree, 'refs/replace/')) {
    if (mark.replace.get(ref) === oid) continue;
    const kept = await keepAt(worktree, `${prefix}/${ref.slice('refs/replace/'.length)}`, oid, 'coven: a replace ref an agent made');
    await git(worktree, ['update-ref', '-m', 'coven: set aside', '-d', ref, oid]);
    out.replace.push(kept);
  }
  const now = fileSignature(mark.graftsPath);
  if (now !== null && now !== mark.grafts) {
    const dir = join(mark.stateDir, 'set-aside');
    mkdirSync(dir, { recursive: true });
    const to = join(dir, `grafts-${worker}-${stamp}`);
    renameSync(mark.graftsPath, to);
    out.grafts = to;
  }
  const shallow = await undoShallowFetch(worktree, mark.commonDir, mark.stateDir, worker, mark.shallow, stamp);
  if (shallow) out.shallow = shallow;
  return out;
}
