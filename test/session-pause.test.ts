// session-pause — SessionHandle.pause()/resume() with the fake claude really running:
// a paused CLI is stopped (not just ignored) until resume(), a message sent meanwhile
// still reaches it, and ending a paused session still ends it with SIGTERM.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSession, type SessionOptions, type SessionOutcome } from '../scripts/lib/session/runner.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { tempDir, tempRepo } from './helpers/repo.js';

async function setup(script: FakeRun[]) {
  const repo = await tempRepo();
  const env = fakeClaudeEnv(script);
  const lines: string[] = [];
  const opts = (more: Partial<SessionOptions> = {}): SessionOptions => ({ cwd: repo, prompt: 'do the task', env: { ...process.env, ...env }, display: (l) => lines.push(l), lingerMs: 500, killGraceMs: 1000, ...more });
  return { repo, env, lines, opts };
}

function expectKind<K extends SessionOutcome['kind']>(o: SessionOutcome, kind: K): Extract<SessionOutcome, { kind: K }> {
  assert.is(o.kind, kind, `outcome: ${JSON.stringify(o)}`);
  return o as Extract<SessionOutcome, { kind: K }>;
}

/** The process state letter from /proc (T: stopped); null when the process is gone. */
function procState(pid: number): string | null {
  try {
    return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting until ${what}`);
}

async function pidFrom(file: string): Promise<number> {
  await until(`${file} names a pid`, () => existsSync(file) && readFileSync(file, 'utf8').trim() !== '');
  return Number(readFileSync(file, 'utf8').trim());
}

const linux = existsSync('/proc/self/stat');

test('pause() stops the CLI until resume(); a message sent while paused reaches the turn after resume', async () => {
  if (!linux) return void process.stdout.write('skipped: this test reads /proc\n');
  const pidFile = join(tempDir(), 'pid');
  const s = await setup([{ steps: [{ bash: `echo $PPID > ${pidFile}` }, { wait_for_message: 20_000 }, { bash: 'true' }, { text: 'did both' }] }]);
  const handle = startSession(s.opts({ cliArgs: ['--allowedTools=Bash'] }));
  const pid = await pidFrom(pidFile);
  assert.ok(handle.pause());
  await until('the CLI is stopped', () => procState(pid) === 'T');
  assert.ok(handle.send('STEER: use tabs'));
  assert.is(procState(pid), 'T', 'a message does not wake a paused session');
  handle.resume();
  const o = expectKind(await handle.outcome, 'success');
  assert.is(o.text, 'did both');
  const [inv] = readFakeLog(s.env);
  assert.equal(inv?.messages.map((m) => m.text), ['do the task', 'STEER: use tabs']);
  assert.equal(inv?.messages[1]?.takenBy, { turn: 1, how: 'injected' });
});

test('abort() ends a paused session with SIGTERM (it is continued so that it can act on it)', async () => {
  if (!linux) return void process.stdout.write('skipped: this test reads /proc\n');
  const pidFile = join(tempDir(), 'pid');
  const s = await setup([{ steps: [{ bash: `echo $PPID > ${pidFile}` }, { wait_for_message: 20_000 }, { text: 'never' }] }]);
  // a SIGKILL would only come after 30 s, and a SIGKILLed fake writes no log line
  const handle = startSession(s.opts({ cliArgs: ['--allowedTools=Bash'], killGraceMs: 30_000 }));
  const pid = await pidFrom(pidFile);
  assert.ok(handle.pause());
  await until('the CLI is stopped', () => procState(pid) === 'T');
  handle.abort();
  expectKind(await handle.outcome, 'aborted');
  const [inv] = readFakeLog(s.env);
  assert.is(inv?.exitCode, 143, 'ended by SIGTERM, not SIGKILL');
  assert.is(procState(pid), null);
});

test('pause() on a session that has ended says false', async () => {
  const s = await setup([{ steps: [{ text: 'quick' }] }]);
  const handle = startSession(s.opts());
  expectKind(await handle.outcome, 'success');
  assert.is(handle.pause(), false);
  handle.resume(); // harmless
});

test.run();
