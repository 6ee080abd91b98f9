// setup-record — the snapshot a worker took before its agent's session, kept on disk
// while the session runs (<state dir>/git-setup/<worker>.json), so that a worker killed
// mid-session (kill -9: no `finally` runs) still gets the changes its agent made undone:
// by the next worker of that name, when it takes over the worktree (lib/worker/start.ts).
// The file is removed once the session's changes are undone. It is read as untrusted
// input: capped, and a file that is not a snapshot is ignored.

import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readCapped } from '../files/read-capped.js';
import { writeAtomic } from '../files/write-atomic.js';
import { hookFolders, type ConfigFile, type GitSetup, type HookFile } from './setup-snapshot.js';

function recordFile(stateDir: string, worker: string): string {
  return join(stateDir, 'git-setup', `${worker}.json`);
}

export async function keepSetupRecord(stateDir: string, worker: string, setup: GitSetup): Promise<void> {
  const hooks = setup.hooks.map((h) => ({ dir: h.dir, files: [...h.files].map(([name, f]) => ({ name, hash: f.hash, mode: f.mode, link: f.link, bytes: f.bytes?.toString('base64') ?? null })) }));
  await mkdir(join(stateDir, 'git-setup'), { recursive: true });
  await writeAtomic(recordFile(stateDir, worker), `${JSON.stringify({ ...setup, hooks })}\n`);
}

export async function dropSetupRecord(stateDir: string, worker: string): Promise<void> {
  await rm(recordFile(stateDir, worker), { force: true });
}

/** The snapshot a session of `worker` left on disk, or null (none, or not a snapshot). */
export async function readSetupRecord(stateDir: string, worker: string): Promise<GitSetup | null> {
  const r = await readCapped(recordFile(stateDir, worker), 64 * 1024 * 1024);
  if (r.kind !== 'read') return null;
  try {
    const v = JSON.parse(r.text) as Record<string, unknown>;
    if (typeof v.commonDir !== 'string' || typeof v.mainWorktree !== 'string' || typeof v.takenAt !== 'number') return null;
    if (!Array.isArray(v.configs) || !Array.isArray(v.hooks)) return null;
    const configs = (v.configs as ConfigFile[]).filter((c) => typeof c?.path === 'string' && Array.isArray(c.command) && Array.isArray(c.entries));
    const hooks = (v.hooks as { dir: string; files: ({ name: string } & Omit<HookFile, 'bytes'> & { bytes: string | null })[] }[]).map((h) => ({
      dir: String(h.dir),
      files: new Map(h.files.map((f) => [String(f.name), { hash: String(f.hash), mode: Number(f.mode) & 0o7777, link: typeof f.link === 'string' ? f.link : null, bytes: typeof f.bytes === 'string' ? Buffer.from(f.bytes, 'base64') : null }])),
    }));
    // only the hooks folders such a snapshot has, and plain file names in them
    const allowed = hookFolders(v.commonDir, v.mainWorktree, configs);
    const safe = hooks.filter((h) => allowed.includes(h.dir)).map((h) => ({ dir: h.dir, files: new Map([...h.files].filter(([name]) => /^[^/\0]+$/.test(name) && name !== '.' && name !== '..')) }));
    return { commonDir: v.commonDir, mainWorktree: v.mainWorktree, takenAt: v.takenAt, configs, hooks: safe };
  } catch {
    return null;
  }
}
