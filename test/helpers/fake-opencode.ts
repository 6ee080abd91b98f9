// fake-opencode helpers — the env that makes coven (or a test) run the fake opencode
// (fakes/opencode.ts) with a script, and readers for what it left (its log, its sessions).

import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeInvocation, FakeRun } from '../../fakes/claude.js';
import { projectRoot, tempDir } from './repo.js';

export const fakeOpencodeBin = join(projectRoot, 'fakes', 'bin', 'opencode');

export type FakeOpencodeEnv = {
  /** the fake, for the session runner */
  COVEN_OPENCODE: string;
  FAKE_OPENCODE_SCRIPT: string;
  FAKE_OPENCODE_LOG: string;
  /** sessions go under here instead of ~/.local/share */
  XDG_DATA_HOME: string;
};

export function fakeOpencodeEnv(script: FakeRun[] | null, dir: string = tempDir('coven-fake-opencode-')): FakeOpencodeEnv {
  if ((statSync(fakeOpencodeBin).mode & 0o111) !== 0o111) chmodSync(fakeOpencodeBin, 0o755);
  mkdirSync(dir, { recursive: true });
  const env: FakeOpencodeEnv = {
    COVEN_OPENCODE: fakeOpencodeBin,
    FAKE_OPENCODE_SCRIPT: script ? join(dir, 'fake-opencode-script.json') : '',
    FAKE_OPENCODE_LOG: join(dir, 'fake-opencode-log.jsonl'),
    XDG_DATA_HOME: join(dir, 'data'),
  };
  if (script) writeOpencodeScript(env, script);
  return env;
}

export function writeOpencodeScript(env: Pick<FakeOpencodeEnv, 'FAKE_OPENCODE_SCRIPT'>, script: FakeRun[]): void {
  writeFileSync(env.FAKE_OPENCODE_SCRIPT, JSON.stringify(script, null, 2));
  rmSync(`${env.FAKE_OPENCODE_SCRIPT}.counter.json`, { force: true });
}

export function readOpencodeLog(env: Pick<FakeOpencodeEnv, 'FAKE_OPENCODE_LOG'>): FakeInvocation[] {
  if (!existsSync(env.FAKE_OPENCODE_LOG)) return [];
  return readFileSync(env.FAKE_OPENCODE_LOG, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FakeInvocation);
}

/** The events of an NDJSON stdout (lines that are not JSON are skipped). */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}
