// setup-guard — an agent's session must not change the git setup that coven's own git
// (and the human's) then runs: a config entry (core.hooksPath, core.fsmonitor, a filter
// or merge driver, an include, an alias, in the repository's config, a config.worktree
// or the human's ~/.gitconfig) or a hook file. Before each session the setup is
// snapshotted (setup-snapshot.ts); after it, and again before a land, every change is
// undone, entry by entry and file by file, and described in one message:
//   - a config key whose values changed gets its values from before back;
//   - a new or changed hook file is moved aside to <state dir>/quarantine/<time>/…
//     (never deleted), and a changed or removed one gets its bytes and mode back.
// Left alone: `branch.<name>.*` entries (coven's spawn writes them for its worker
// branches, and a branch's removal drops them; none makes git run a program), and
// coven's own wake hook written by `coven hooks install`.
// What was undone is logged, with the time, in <state dir>/quarantine/undone.json: a
// worker whose snapshot caught another agent's change in place (taken before that change
// was undone) never puts it back; the same change made again later (by the human, with
// the command the message gives) is trusted by the next snapshot.

import { chmod, mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { readCapped } from '../files/read-capped.js';
import { writeAtomic } from '../files/write-atomic.js';
import { CHAINED_SUFFIX, HOOK_NAMES, hookText } from '../hooks/hook-text.js';
import { shellQuote } from '../ui/problem.js';
import { escapeNotPlain } from '../ui/plain-text.js';
import { git, pinForRepository } from './runner.js';
import { dropSetupRecord, keepSetupRecord, readSetupRecord } from './setup-record.js';
import { configValue, hooksPathValue, setupPlaces, sha256, snapshotGitSetup, type ConfigFile, type GitSetup, type HookFile, type HooksFolder } from './setup-snapshot.js';

export { snapshotGitSetup, type GitSetup } from './setup-snapshot.js';

export type SetupChange =
  | { kind: 'config'; file: ConfigFile; key: string; before: (string | null)[]; after: (string | null)[]; undone: boolean }
  | { kind: 'hook'; dir: string; name: string; what: 'new' | 'changed' | 'removed'; movedTo: string | null; restored: boolean };

/** The last snapshot this process took per repository (its common dir): the setup coven trusts. */
const trusted = new Map<string, GitSetup>();

/** The setup trusted for this repository: the last snapshot taken before a session, or null. */
export function trustedSetup(commonDir: string): GitSetup | null {
  return trusted.get(commonDir) ?? null;
}

/** Snapshots the git setup of the repository around `cwd` (null outside one) and trusts it. */
export async function guardGitSetup(cwd: string): Promise<GitSetup | null> {
  const places = await setupPlaces(cwd);
  if (!places) return null;
  const setup = await snapshotGitSetup(places.commonDir, places.mainWorktree);
  trusted.set(places.commonDir, setup);
  // the hooks git runs in this repository are the trusted ones, whatever the config says meanwhile
  pinForRepository([places.commonDir, ...places.worktrees], trustedPins(setup));
  return setup;
}

/**
 * Compares the setup now with `before` and undoes every change (see the header).
 * Returns what changed; empty when nothing did.
 */
export async function undoSetupChanges(snapshot: GitSetup, stateDir: string): Promise<SetupChange[]> {
  const [now, undone] = await Promise.all([snapshotGitSetup(snapshot.commonDir, snapshot.mainWorktree, snapshot.hooks.map((h) => h.dir)), readUndone(stateDir)]);
  const before = withoutUndone(snapshot, undone);
  const changes: SetupChange[] = [];
  for (const was of before.configs) {
    // only the files git reads now (a removed worktree's config.worktree is gone with it)
    const is = now.configs.find((c) => c.path === was.path);
    if (!is) continue;
    for (const change of configChanges(was, is)) changes.push({ kind: 'config', file: was, ...change, undone: await putBackKey(before.commonDir, was, change.key, change.before) });
  }
  const quarantine = join(stateDir, 'quarantine', stamp());
  for (const was of before.hooks) {
    const is = now.hooks.find((h) => h.dir === was.dir);
    if (!is) continue;
    changes.push(...(await undoHookChanges(was, is, join(quarantine, folderLabel(was.dir, before.commonDir)))));
  }
  if (changes.length > 0) await logUndone(stateDir, changes);
  return changes;
}

/** The session's guard: snapshot, run, undo. `report` gets the one message when something was undone. */
export async function withGuardedSetup<T>(g: { cwd: string; stateDir: string; worker: string }, run: () => Promise<T>, report: (text: string) => void): Promise<T> {
  const before = await guardGitSetup(g.cwd);
  // kept on disk while the session runs: a worker killed meanwhile has it undone when it starts again
  if (before) await keepSetupRecord(g.stateDir, g.worker, before);
  try {
    return await run();
  } finally {
    if (before) {
      const changes = await undoSetupChanges(before, g.stateDir);
      await dropSetupRecord(g.stateDir, g.worker);
      if (changes.length > 0) report(describeSetupChanges(changes, 'the agent'));
    }
  }
}

/**
 * A worker starting again after it was killed during a session (its snapshot is still on
 * disk): what that session's agent changed is undone now, and reported.
 */
export async function undoLeftBySession(g: { stateDir: string; worker: string }, report: (text: string) => void): Promise<void> {
  const record = await readSetupRecord(g.stateDir, g.worker);
  // the state dir is <common dir>/coven: a record of another repository (a copied state dir) is dropped, not applied
  if (record && record.commonDir === dirname(g.stateDir)) {
    const changes = await undoSetupChanges(record, g.stateDir);
    if (changes.length > 0) report(describeSetupChanges(changes, `the agent of ${g.worker}'s session that was cut short`));
  }
  await dropSetupRecord(g.stateDir, g.worker);
}

/**
 * Before a land: undoes what changed since the trusted snapshot (another worker's agent,
 * running now). `commonDir` as findRepo gives it; nothing to do when no session of this
 * process snapshotted that repository.
 */
export async function checkSetupBeforeLand(commonDir: string, stateDir: string, report: (text: string) => void): Promise<void> {
  const before = trustedSetup(commonDir);
  if (!before) return;
  const changes = await undoSetupChanges(before, stateDir);
  if (changes.length > 0) report(describeSetupChanges(changes, 'an agent (of this worker or another)'));
}

/** The hooks folder git uses under the trusted setup (a relative value: in the human's checkout). */
function hooksFolderOf(setup: GitSetup): string {
  const value = hooksPathValue(setup.configs);
  if (!value) return join(setup.commonDir, 'hooks');
  return value.startsWith('~') || isAbsolute(value) ? value : resolve(setup.mainWorktree, value);
}

/**
 * The paths a land changes inside the hooks folder of the main worktree (committed hooks:
 * `core.hooksPath = .githooks`), for the trusted setup of `stateDir`'s repository. The
 * land then runs no hook (lib/land/fast-forward.ts): those hooks are the agent's until
 * the human has looked at them.
 */
export function hooksTheLandChanges(stateDir: string, paths: string[]): string[] {
  const setup = trustedSetup(dirname(stateDir));
  const value = setup ? hooksPathValue(setup.configs) : null;
  if (!setup || !value || value.startsWith('~') || isAbsolute(value)) return [];
  const folder = relative(setup.mainWorktree, resolve(setup.mainWorktree, value));
  if (folder.startsWith('..')) return [];
  return paths.filter((p) => folder === '' || p === folder || p.startsWith(`${folder}/`));
}

/** Pins that make git find no hook at all (a folder that cannot exist), for one command. */
export const NO_HOOKS: [string, string][] = [['core.hooksPath', '/dev/null/coven-runs-no-hooks']];

/** What the worker says when a land ran no hook because it changed hooks. */
export function describeHooksNotRun(mainWorktree: string, paths: string[]): string {
  return [
    `coven: this land changed hooks in the repository's hooks folder (${paths.map(escapeNotPlain).join(', ')}), so coven's git ran no hook for it (not run: post-merge, reference-transaction).`,
    `  They come from the agent's commit; your next git command in ${escapeNotPlain(mainWorktree)} runs them. Look at them first:`,
    `    git -C ${shellQuote(mainWorktree)} log -p -1 -- ${paths.map(shellQuote).join(' ')}`,
  ].join('\n');
}

/**
 * The settings of the trusted setup that name a program git coven runs may start, each
 * pinned to its trusted value (or git's default): core.hooksPath (relative: per worktree,
 * as git reads it; unset: the common hooks folder); commit signing, which the land's
 * rebase does for every commit it makes when commit.gpgSign is on, and its programs.
 * (A filter or merge driver's name is the agent's choice: it cannot be pinned ahead.)
 */
export function trustedPins(setup: GitSetup): [string, string][] {
  const value = (key: string, otherwise: string): string => configValue(setup.configs, key) ?? otherwise;
  return [
    // a folder inside the worktree (committed hooks): the human's checkout's, never the agent's copy
    ['core.hooksPath', hooksFolderOf(setup)],
    ['commit.gpgSign', value('commit.gpgsign', 'false')],
    ['gpg.format', value('gpg.format', 'openpgp')],
    ['gpg.program', value('gpg.program', 'gpg')],
    ['gpg.openpgp.program', value('gpg.openpgp.program', value('gpg.program', 'gpg'))],
    ['gpg.x509.program', value('gpg.x509.program', 'gpgsm')],
    ['gpg.ssh.program', value('gpg.ssh.program', 'ssh-keygen')],
  ];
}

function configChanges(was: ConfigFile, is: ConfigFile): { key: string; before: (string | null)[]; after: (string | null)[] }[] {
  const a = byKey(was.entries);
  const b = byKey(is.entries);
  const keys = [...new Set([...a.keys(), ...b.keys()])].filter((k) => !/^branch\..+\.[^.]+$/.test(k));
  return keys.filter((k) => !sameList(a.get(k) ?? [], b.get(k) ?? [])).map((key) => ({ key, before: a.get(key) ?? [], after: b.get(key) ?? [] }));
}

async function putBackKey(cwd: string, file: ConfigFile, key: string, values: (string | null)[]): Promise<boolean> {
  const unset = await git(cwd, ['config', '--file', file.path, '--unset-all', key]);
  if (!unset.ok && unset.code !== 5) return false; // 5: the key is not there
  for (const v of values) {
    const add = await git(cwd, ['config', '--file', file.path, '--add', key, v ?? 'true']);
    if (!add.ok) return false;
  }
  return true;
}

async function undoHookChanges(was: HooksFolder, is: HooksFolder, aside: string): Promise<SetupChange[]> {
  const changes: SetupChange[] = [];
  const names = [...new Set([...was.files.keys(), ...is.files.keys()])].sort();
  for (const name of names) {
    const before = was.files.get(name);
    const after = is.files.get(name);
    if (before && after && before.hash === after.hash) continue;
    if (!before && after && (await isCovenOwn(name, after, was))) continue;
    const what = !before ? 'new' : !after ? 'removed' : 'changed';
    let movedTo: string | null = null;
    if (after) {
      movedTo = join(aside, name);
      await mkdir(aside, { recursive: true });
      await rename(join(is.dir, name), movedTo).catch(() => (movedTo = null));
    }
    const restored = before ? await putBackHook(join(was.dir, name), before) : true;
    changes.push({ kind: 'hook', dir: was.dir, name, what, movedTo, restored });
  }
  return changes;
}

/** A file `coven hooks install` writes: its wake hook, or a user's hook it chained under a new name. */
async function isCovenOwn(name: string, file: HookFile, was: HooksFolder): Promise<boolean> {
  if (!file.bytes) return false;
  for (const hook of HOOK_NAMES) if (name === hook && file.bytes.toString('utf8') === (await hookText(hook))) return true;
  const chained = name.endsWith(CHAINED_SUFFIX) ? name.slice(0, -CHAINED_SUFFIX.length) : undefined;
  return chained !== undefined && was.files.get(chained)?.hash === file.hash;
}

async function putBackHook(path: string, file: HookFile): Promise<boolean> {
  try {
    if (file.link !== null) await symlink(file.link, path);
    else if (file.bytes) {
      await writeFile(path, file.bytes, { mode: file.mode });
      await chmod(path, file.mode);
    } else return false;
    return true;
  } catch {
    return false;
  }
}

/** One message: what changed, that it was undone, and the command to make a change by hand. */
export function describeSetupChanges(changes: SetupChange[], who: string): string {
  const lines = [`coven: ${who} changed the git setup that coven's git and yours run with; each change is undone:`];
  const commands: string[] = [];
  for (const c of changes) {
    if (c.kind === 'config') {
      const show = (v: (string | null)[]) => (v.length === 0 ? 'unset' : v.map((x) => escapeNotPlain(x ?? 'true')).join(', '));
      lines.push(`  - ${displayKey(c.key)} in ${escapeNotPlain(c.file.path)}: was ${show(c.before)}, set to ${show(c.after)}; ${c.undone ? `put back (${show(c.before)})` : 'could NOT be put back: fix it by hand'}`);
      commands.push(...handCommands(c.file, c.key, c.after));
    } else {
      const path = join(c.dir, c.name);
      const moved = c.movedTo ? `moved to ${c.movedTo}` : c.what === 'removed' ? '' : 'could NOT be moved aside';
      const back = c.what === 'new' ? '' : c.restored ? 'the file from before put back' : 'the file from before could NOT be put back';
      lines.push(`  - hook ${escapeNotPlain(path)}: ${c.what}; ${[moved, back].filter(Boolean).join(', ')}`);
      if (c.movedTo) commands.push(`mv ${shellQuote(c.movedTo)} ${shellQuote(path)}`);
    }
  }
  if (commands.length > 0) lines.push('  If you want this change, make it yourself:', ...commands.map((c) => `    ${escapeNotPlain(c)}`));
  return lines.join('\n');
}

function handCommands(file: ConfigFile, key: string, values: (string | null)[]): string[] {
  const base = file.command.map(shellQuote).join(' ');
  const name = displayKey(key);
  if (values.length === 0) return [`${base} --unset-all ${shellQuote(name)}`];
  if (values.length === 1) return [`${base} ${shellQuote(name)} ${shellQuote(values[0] ?? 'true')}`];
  return [`${base} --unset-all ${shellQuote(name)}`, ...values.map((v) => `${base} --add ${shellQuote(name)} ${shellQuote(v ?? 'true')}`)];
}

/** git lists keys lower-cased; the common ones read better as documented (core.hooksPath). */
function displayKey(key: string): string {
  const known: Record<string, string> = { 'core.hookspath': 'core.hooksPath', 'core.fsmonitor': 'core.fsmonitor', 'core.sshcommand': 'core.sshCommand', 'commit.gpgsign': 'commit.gpgSign', 'extensions.worktreeconfig': 'extensions.worktreeConfig' };
  return known[key] ?? key;
}

// ---- what was undone, across workers ----

interface Undone {
  config: { path: string; key: string; value: string | null; at: number }[];
  hooks: { hash: string; at: number }[];
}

async function readUndone(stateDir: string): Promise<Undone> {
  const r = await readCapped(join(stateDir, 'quarantine', 'undone.json'), 1024 * 1024);
  if (r.kind !== 'read') return { config: [], hooks: [] };
  try {
    const v = JSON.parse(r.text) as Partial<Undone>;
    return { config: Array.isArray(v.config) ? v.config : [], hooks: Array.isArray(v.hooks) ? v.hooks : [] };
  } catch {
    return { config: [], hooks: [] };
  }
}

async function logUndone(stateDir: string, changes: SetupChange[]): Promise<void> {
  const log = await readUndone(stateDir);
  const at = Date.now();
  for (const c of changes) {
    if (c.kind === 'config') {
      for (const value of c.after) if (!c.before.includes(value)) log.config.push({ path: c.file.path, key: c.key, value, at });
    } else if (c.movedTo) {
      const moved = await readCapped(c.movedTo, 1024 * 1024);
      if (moved.kind === 'read') log.hooks.push({ hash: sha256(moved.bytes), at });
    }
  }
  await mkdir(join(stateDir, 'quarantine'), { recursive: true });
  await writeAtomic(join(stateDir, 'quarantine', 'undone.json'), `${JSON.stringify({ config: log.config.slice(-500), hooks: log.hooks.slice(-500) })}\n`);
}

/** The snapshot without what coven undid after it was taken: another agent's change it caught in place is never put back. */
function withoutUndone(setup: GitSetup, undone: Undone): GitSetup {
  const config = undone.config.filter((u) => u.at >= setup.takenAt);
  const hashes = new Set(undone.hooks.filter((h) => h.at >= setup.takenAt).map((h) => h.hash));
  if (config.length === 0 && hashes.size === 0) return setup;
  const configs = setup.configs.map((c) => ({ ...c, entries: c.entries.filter(([k, v]) => !config.some((u) => u.path === c.path && u.key === k && u.value === v)) }));
  const hooks = setup.hooks.map((h) => ({ dir: h.dir, files: new Map([...h.files].filter(([, f]) => !hashes.has(f.hash))) }));
  return { ...setup, configs, hooks };
}

function byKey(entries: [string, string | null][]): Map<string, (string | null)[]> {
  const m = new Map<string, (string | null)[]>();
  for (const [k, v] of entries) m.set(k, [...(m.get(k) ?? []), v]);
  return m;
}

function sameList(a: (string | null)[], b: (string | null)[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function folderLabel(dir: string, commonDir: string): string {
  return dir === join(commonDir, 'hooks') ? 'hooks' : `hooks-${sha256(Buffer.from(dir)).slice(0, 8)}`;
}
