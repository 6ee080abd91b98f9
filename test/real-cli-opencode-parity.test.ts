// real-cli-opencode-parity — the fake opencode against the real one (1.18.33, pinned) for
// the same scripts: the real CLI talks to the scripted chat completions mock, the fake
// follows the equivalent FakeRun. Compared: the events (type and the paths of their
// fields, in order), what coven's adapter makes of them, the exit, and the stderr line a
// refusal is recognised by. Any difference is a bug in the fake.
//
//   env:  COVEN_REAL_CLI=1 (npm run test:real-cli) with COVEN_OPENCODE_BIN, or by hand
//         COVEN_REAL_CLI=1 COVEN_OPENCODE_BIN=<opencode> node dist/test/run-tests.js real-cli-opencode-parity

import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { opencodeAdapter } from '../scripts/lib/clis/opencode.js';
import type { CliEvent } from '../scripts/lib/clis/adapter.js';
import type { FakeRun } from '../fakes/claude.js';
import { fakeOpencodeEnv, jsonLines } from './helpers/fake-opencode.js';
import { tempDir, tempRepo } from './helpers/repo.js';
import { realCli, realCliTests } from './real-cli/gate.js';
import { bash, chatError, conversation, refusals, say, startMockChatApi, text, type ChatReply } from './real-cli/mock-chat-api.js';
import { opencodeEnv, runOpencode, type TimedRun } from './real-cli/run-opencode.js';

for (const k of Object.keys(process.env)) if (k.startsWith('OPENCODE_')) delete process.env[k];

const cli = await realCli('opencode', 'compare the fake opencode with the real one');
const realTest = realCliTests('real-cli-opencode-parity', cli);

const ARGS = ['run', '--format', 'json', '--print-logs', '--log-level', 'WARN'];
const STREAM_ERROR = /message="stream error"[^\n]*\n/;

interface Case {
  name: string;
  prompt: string;
  replies: ChatReply[];
  fake: FakeRun;
  /** resume the session of the case before it */
  resume?: boolean;
  /** extra arguments (both) */
  args?: string[];
  /** a refusal the CLI retries for minutes: stopped at its first stderr line, as coven does */
  stopAtRefusal?: boolean;
}

const cases: Case[] = [
  {
    name: 'text and a bash call, then a final text',
    prompt: 'START create x.txt',
    replies: [say(text('Let me write it.'), bash('echo hi > x.txt', 'Write hi to x.txt')), say(text('FINAL1: ran the command, x.txt written.'))],
    fake: { steps: [{ text: 'Let me write it.' }, { bash: 'echo hi > x.txt', description: 'Write hi to x.txt' }], result: { text: 'FINAL1: ran the command, x.txt written.' } },
  },
  { name: 'a resume of that session', prompt: 'SECOND: what did you do?', resume: true, replies: [say(text('FINAL2: I remember x.txt from before.'))], fake: { expect: { resume: true }, result: { text: 'FINAL2: I remember x.txt from before.' } } },
  {
    name: 'a failing command',
    prompt: 'TOOLS please',
    replies: [say(bash('echo out; echo boom >&2; exit 3', 'fail')), say(text('FINAL3: it failed.'))],
    fake: { steps: [{ bash: 'echo out; echo boom >&2; exit 3', description: 'fail' }], result: { text: 'FINAL3: it failed.' } },
  },
  { name: 'an HTTP 400', prompt: 'FAIL400 please', replies: [chatError(400, 'mock bad request (FAIL400)')], fake: { api_error: { status: 400, message: 'mock bad request (FAIL400)' } } },
  { name: 'a 401 (auth refusal)', prompt: 'FAIL401 please', replies: [refusals.auth()], fake: { refuse: { reason: 'auth' } } },
  { name: 'a 429 (quota refusal, retried; stopped at its first stderr line)', prompt: 'FAIL429 please', replies: Array.from({ length: 8 }, () => refusals.quota()), fake: { refuse: { reason: 'quota' } }, stopAtRefusal: true },
  { name: 'an option opencode does not know', prompt: 'never sent', replies: [], fake: {}, args: ['--allowedTools=Bash(git *)'] },
];

/** The type and field paths of each event (the values differ: ids, times, paths). */
function shapes(stdout: string): string[] {
  const paths = (v: unknown, prefix: string): string[] =>
    typeof v !== 'object' || v === null || Array.isArray(v) ? [prefix] : Object.entries(v).flatMap(([k, x]) => (['input', 'responseHeaders', 'metadata'].includes(k) && prefix.endsWith('data.') ? [`${prefix}${k}`] : k === 'input' || k === 'responseHeaders' ? [`${prefix}${k}`] : paths(x, `${prefix}${k}.`)));
  return jsonLines(stdout).map((e) => `${String(e.type)}: ${paths(e, '').sort().join(' ')}`);
}

/** What coven makes of a run, stopping at a refusal as the runner does. */
function seen(run: TimedRun, cwd: string): string[] {
  const p = opencodeAdapter.parser();
  const all: CliEvent[] = [...run.stderr.split('\n').flatMap((l) => p.stderr(l)), ...run.stdout.split('\n').filter(Boolean).flatMap((l) => p.line(l))];
  const refused = all.findIndex((e) => e.kind === 'refused');
  const events = refused >= 0 ? all.slice(0, refused + 1) : [...all, ...p.end({ code: run.code, signal: run.signal })];
  return events.map((e) => {
    const s = e.kind === 'result' ? `result ok=${e.ok} ${e.subtype} text=${e.text ?? ''} errors=${e.errors.length} tokens=${JSON.stringify(e.tokens)} turns=${e.turns}` : e.kind === 'refused' ? `refused ${e.refusal.reason}: ${e.refusal.message}` : e.kind === 'session' ? 'session' : `${e.kind} ${'summary' in e ? e.summary : 'text' in e ? e.text : ''}`;
    return s.split(cwd).join('<repo>');
  });
}

/** The field names of the stderr lines (the log lines' keys; other lines as they are). */
function stderrShape(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter(Boolean)
    .map((l) => (l.startsWith('timestamp=') ? [...l.matchAll(/(\S+?)=("(?:[^"\\]|\\.)*"|\S+)/g)].map((m) => m[1]).join(' ') : l));
}

interface Observed {
  shapes: string[];
  seen: string[];
  exit: string;
  stderr: string[];
}

async function observeReal(bin: string): Promise<Observed[]> {
  const byPrompt = new Map(cases.map((c) => [c.prompt, c.replies]));
  const api = await startMockChatApi(conversation(cases.map((c) => ({ when: c.prompt, replies: byPrompt.get(c.prompt)! }))));
  try {
    const env = opencodeEnv(api, tempDir('coven-opencode-home-'));
    return await observe((args, repo, input, stop) => runOpencode(bin, args, { dir: repo, env, input, killOnStderr: stop ? STREAM_ERROR : undefined, timeoutMs: 240_000 }));
  } finally {
    await api.close();
  }
}

async function observeFake(): Promise<Observed[]> {
  const env = fakeOpencodeEnv(cases.filter((c) => !c.args).map((c) => ({ ...c.fake, match: { promptIncludes: c.prompt } })));
  return observe((args, repo, input, stop) => runOpencode(env.COVEN_OPENCODE, args, { dir: repo, env, input, killOnStderr: stop ? STREAM_ERROR : undefined, timeoutMs: 60_000 }));
}

async function observe(run: (args: string[], repo: string, input: string, stopAtRefusal: boolean) => Promise<TimedRun>): Promise<Observed[]> {
  const out: Observed[] = [];
  let repo = '';
  let session = '';
  for (const c of cases) {
    if (!c.resume) repo = await tempRepo();
    const args = [...ARGS, ...(c.resume ? ['--session', session] : []), ...(c.args ?? [])];
    const r = await run(args, repo, c.prompt, c.stopAtRefusal === true);
    session = String(jsonLines(r.stdout)[0]?.sessionID ?? '');
    const refusedEarly = c.stopAtRefusal === true && r.signal === 'SIGTERM';
    out.push({ shapes: shapes(r.stdout), seen: seen(r, repo), exit: refusedEarly ? 'stopped at the refusal' : `${r.code} ${r.signal}`, stderr: refusedEarly ? stderrShape(r.stderr).slice(0, 1) : stderrShape(r.stderr) });
  }
  return out;
}

realTest('the fake opencode prints the events, fields, exits and refusal lines the real one does, case by case', async () => {
  assert.ok(cli.kind === 'run');
  if (cli.kind !== 'run') return;
  const real = await observeReal(cli.bin);
  const fake = await observeFake();
  cases.forEach((c, i) => {
    assert.equal(fake[i]!.shapes, real[i]!.shapes, `${c.name}: the events and their fields`);
    assert.equal(fake[i]!.seen, real[i]!.seen, `${c.name}: what coven's adapter makes of them`);
    assert.is(fake[i]!.exit, real[i]!.exit, `${c.name}: the exit`);
    assert.equal(fake[i]!.stderr, real[i]!.stderr, `${c.name}: stderr`);
  });
});

test.run();
