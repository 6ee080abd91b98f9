// real-cli-gemini-parity — the fake Gemini CLI against the real one (0.61.0, pinned) for
// the same scripts: the real CLI talks to the scripted mock Gemini API, the fake follows
// the equivalent FakeRun. Compared: the events (type, role, fields in order; runs of text
// chunks count once), what coven's adapter makes of them, the exit codes, and the stderr
// line a refusal is recognised by. Any difference is a bug in the fake.
//
//   env:  COVEN_REAL_CLI=1 (npm run test:real-cli) with COVEN_GEMINI_BIN, or by hand
//         COVEN_REAL_CLI=1 COVEN_GEMINI_BIN=<gemini> node dist/test/run-tests.js real-cli-gemini

import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { geminiAdapter } from '../scripts/lib/clis/gemini.js';
import type { CliEvent } from '../scripts/lib/clis/adapter.js';
import type { FakeRun } from '../fakes/claude.js';
import { fakeGeminiEnv, GEMINI_FLAGS, runFakeGemini } from './helpers/fake-gemini.js';
import { tempDir, tempRepo } from './helpers/repo.js';
import { realCli, realCliTests } from './real-cli/gate.js';
import { apiError, authError, conversation, quotaError, say, shell, startMockGeminiApi, text, type MockGeminiApi, type Reply } from './real-cli/mock-gemini-api.js';
import { geminiEnv, runGemini, type GeminiRun } from './real-cli/run-gemini.js';

for (const k of Object.keys(process.env)) if (/^(GEMINI_|GOOGLE_)/.test(k) && k !== 'GEMINI_CLI_HOME') delete process.env[k];

const cli = await realCli('gemini', 'compare the fake Gemini CLI with the real one');
const realTest = realCliTests('real-cli-gemini-parity', cli);

interface Case {
  name: string;
  prompt: string;
  /** what the mock answers, call by call */
  replies: Reply[];
  /** the same for the fake */
  fake: FakeRun;
  /** resume the session of the case before it */
  resume?: boolean;
}

const cases: Case[] = [
  { name: 'a shell call then a final text', prompt: 'START create x.txt', replies: [say(shell('echo hi > x.txt', 'write x.txt')), say(text('FINAL1: ran the command, x.txt written.'))], fake: { steps: [{ bash: 'echo hi > x.txt', description: 'write x.txt' }], result: { text: 'FINAL1: ran the command, x.txt written.' } } },
  { name: 'a resume of that session', prompt: 'SECOND prompt: what did you do?', resume: true, replies: [say(text('FINAL2: I remember x.txt from before.'))], fake: { expect: { resume: true }, result: { text: 'FINAL2: I remember x.txt from before.' } } },
  {
    name: 'text, a failing command, a missing file',
    prompt: 'TOOLS please',
    replies: [say(text('Let me look. '), shell('echo out; echo boom >&2; exit 3', 'fail')), say({ functionCall: { name: 'read_file', args: { file_path: 'missing.txt' } } }), say(text('FINAL3: both failed.'))],
    fake: { steps: [{ text: 'Let me look. ' }, { bash: 'echo out; echo boom >&2; exit 3', description: 'fail' }, { read: 'missing.txt' }], result: { text: 'FINAL3: both failed.' } },
  },
  { name: 'an HTTP 400', prompt: 'FAIL400 please', replies: [apiError(400, 'mock bad request (FAIL400)')], fake: { api_error: { status: 400, message: 'mock bad request (FAIL400)' } } },
  { name: 'a 401 (auth refusal)', prompt: 'FAIL401 please', replies: [authError()], fake: { refuse: { reason: 'auth' } } },
  { name: 'a 429 (quota refusal, retried)', prompt: 'FAIL429 please', replies: [quotaError()], fake: { refuse: { reason: 'quota' } } },
];

/** The shapes of a run's events, a run of identical ones (text chunks) counted once. */
function shapes(events: Record<string, unknown>[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    const s = `${String(e.type)}${e.role ? `/${String(e.role)}` : ''}: ${Object.keys(e).join(',')}${e.stats ? ` stats: ${Object.keys(e.stats as object).join(',')}` : ''}${e.type === 'tool_result' ? ` ${String(e.status)}` : ''}`;
    if (out.at(-1) !== s) out.push(s);
  }
  return out;
}

/** What coven makes of a run: the adapter's events (text chunks joined), stopping at a refusal as the runner does. */
function seen(stdout: string[], stderr: string[], exit: { code: number | null; signal: NodeJS.Signals | null }, cwd: string): string[] {
  const p = geminiAdapter.parser();
  const all: CliEvent[] = [...stdout.flatMap((l) => p.line(l)), ...stderr.flatMap((l) => p.stderr(l))];
  const refused = all.findIndex((e) => e.kind === 'refused');
  const events = refused >= 0 ? all.slice(0, refused + 1) : [...all, ...p.end(exit)];
  const out: string[] = [];
  for (const e of events) {
    const s = e.kind === 'result' ? `result ok=${e.ok} text=${e.text ?? ''}` : e.kind === 'refused' ? `refused ${e.refusal.reason}` : e.kind === 'text' ? 'text' : e.kind === 'session' ? 'session' : `${e.kind} ${'summary' in e ? e.summary : ''}`;
    const t = s.split(cwd).join('<repo>');
    if (out.at(-1) !== t) out.push(t);
  }
  return out;
}

interface Observed {
  shapes: string[];
  seen: string[];
  code: number | null;
}

async function runReal(bin: string, api: MockGeminiApi, cwd: string, home: string, c: Case, sessionId: string | null): Promise<{ o: Observed; sessionId: string | null }> {
  const stderr: string[] = [];
  let refused = false;
  const parser = geminiAdapter.parser();
  const r: GeminiRun = await runGemini({
    gemini: bin,
    cwd,
    env: geminiEnv(api.url, home),
    prompt: c.prompt,
    args: c.resume && sessionId ? ['--resume', sessionId] : [],
    timeoutMs: 60_000,
    onStderr: (line, kill) => {
      stderr.push(line);
      // a retried refusal: stop it there, as the runner does (an auth one ends by itself,
      // its result racing the stderr line)
      if (!refused && line.startsWith('Attempt ') && parser.stderr(line).some((e) => e.kind === 'refused')) {
        refused = true;
        kill();
      }
    },
  });
  const stdout = r.events.map((e) => JSON.stringify(e));
  return { o: { shapes: shapes(r.events), seen: seen(stdout, stderr, { code: r.code, signal: r.signal }, cwd), code: refused ? null : r.code }, sessionId: r.sessionId };
}

async function runFake(cwd: string, dir: string, c: Case, sessionId: string | null): Promise<{ o: Observed; sessionId: string | null }> {
  const env = { ...fakeGeminiEnv([c.fake], join(dir, c.name.replace(/\W+/g, '-'))), GEMINI_CLI_HOME: join(dir, 'gemini-home') };
  const args = [...(c.resume && sessionId ? ['--resume', sessionId] : []), '-p', c.prompt, ...GEMINI_FLAGS];
  // a retried refusal never ends by itself: cap it (what matters is what it printed first)
  const r = await runFakeGemini(args, { cwd, env, timeoutMs: c.fake.refuse && c.fake.refuse.reason !== 'auth' ? 3000 : 60_000 });
  const events = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const stderr = r.stderr.split('\n');
  const refusedAt = stderr.findIndex((l) => l.startsWith('Attempt ') && geminiAdapter.parser().stderr(l).some((e) => e.kind === 'refused'));
  return {
    o: { shapes: shapes(events), seen: seen(r.stdout.split('\n'), refusedAt >= 0 ? stderr.slice(0, refusedAt + 1) : stderr, { code: r.code, signal: null }, cwd), code: refusedAt >= 0 ? null : r.code },
    sessionId: typeof events[0]?.session_id === 'string' ? events[0].session_id : null,
  };
}

realTest('the fake Gemini CLI prints what the real one prints, and coven reads the same from both', async () => {
  if (cli.kind !== 'run') return;
  const api = await startMockGeminiApi(conversation(cases.map((c) => ({ when: c.prompt, replies: c.replies }))));
  try {
    const realRepo = await tempRepo();
    const fakeRepo = await tempRepo();
    const home = join(tempDir('coven-gemini-home-'), 'home');
    mkdirSync(home, { recursive: true });
    const fakeDir = tempDir('coven-fake-gemini-');
    let realId: string | null = null;
    let fakeId: string | null = null;
    const differences: string[] = [];
    for (const c of cases) {
      const real = await runReal(cli.bin, api, realRepo, home, c, realId);
      const fake = await runFake(fakeRepo, fakeDir, c, fakeId);
      realId = c.resume ? realId : real.sessionId;
      fakeId = c.resume ? fakeId : fake.sessionId;
      for (const key of ['shapes', 'seen', 'code'] as const) {
        const a = JSON.stringify(real.o[key]);
        const b = JSON.stringify(fake.o[key]);
        if (a !== b) differences.push(`${c.name}: ${key}\n  real: ${a}\n  fake: ${b}`);
      }
    }
    assert.equal(differences, [], differences.join('\n'));
  } finally {
    await api.close();
  }
});

test.run();
