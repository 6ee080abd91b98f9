// fake-opencode — the fake opencode (fakes/opencode.ts) does what the real CLI was seen
// doing: the capture's events and fields, its directory from $PWD, sessions kept on disk
// and resumed by id, an unknown id refused, a resume from another directory silent and
// endless, and a refusal that retries with one stderr line per attempt.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { opencodeAdapter } from '../scripts/lib/clis/opencode.js';
import type { CliEvent } from '../scripts/lib/clis/adapter.js';
import type { FakeRun } from '../fakes/claude.js';
import { fakeOpencodeEnv, jsonLines, readOpencodeLog } from './helpers/fake-opencode.js';
import { projectRoot, run, sh, tempDir, tempRepo, type Run } from './helpers/repo.js';

const sample = (file: string): Record<string, unknown>[] => jsonLines(readFileSync(join(projectRoot, 'test', 'fixtures', 'agent-cli-samples', 'opencode', file), 'utf8'));

function opencode(args: string[], opts: { pwd: string; cwd?: string; env: Record<string, string>; input?: string; timeoutMs?: number }): Promise<Run> {
  return run(opts.env.COVEN_OPENCODE!, args, { cwd: opts.cwd ?? opts.pwd, env: { ...opts.env, PWD: opts.pwd }, input: opts.input ?? '', timeoutMs: opts.timeoutMs });
}

/** The key paths of an event, e.g. `part.state.metadata.exit`, to compare shapes. */
function shape(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => (k === 'input' || k === 'responseHeaders' ? [`${prefix}${k}`] : shape(v, `${prefix}${k}.`)));
}

test('a start: the same events, fields and order as the capture; bash really runs in $PWD; exit 0', async () => {
  const repo = await tempRepo();
  const env = fakeOpencodeEnv([{ steps: [{ bash: 'echo hi > x.txt', description: 'Write hi to x.txt' }], result: { text: 'FINAL1: ran the command, x.txt written.' } }]);
  const r = await opencode(['run', '--format', 'json'], { pwd: repo, env, input: 'write x\n' });
  assert.is(r.code, 0, r.stderr);
  const events = jsonLines(r.stdout);
  const expected = sample('start.jsonl');
  assert.equal(
    events.map((e) => e.type),
    expected.map((e) => e.type),
  );
  events.forEach((e, i) => assert.equal(shape(e).sort(), shape(expected[i]).sort(), `event ${i} (${String(e.type)}) has the capture's fields`));
  assert.match(String(events[0]!.sessionID), /^ses_[0-9a-f]{12}[A-Za-z0-9]{14}$/);
  assert.match(String((events[0]!.part as { id: string }).id), /^prt_[0-9a-f]{12}[A-Za-z0-9]{14}$/);
  assert.is(readFileSync(join(repo, 'x.txt'), 'utf8'), 'hi\n');
  const log = readOpencodeLog(env);
  assert.is(log[0]!.prompts[0], 'write x\n', 'the prompt from stdin, as it is');
});

test('the directory is $PWD, not the cwd (the real CLI\'s trap): a caller that forgets PWD gets its work done elsewhere', async () => {
  const worktree = await tempRepo('wt');
  const elsewhere = await tempRepo('main');
  const env = fakeOpencodeEnv([{ steps: [{ bash: 'pwd > where.txt' }] }]);
  const r = await opencode(['run', '--format', 'json'], { pwd: elsewhere, cwd: worktree, env, input: 'x' });
  assert.is(r.code, 0, r.stderr);
  assert.ok(existsSync(join(elsewhere, 'where.txt')));
  assert.not.ok(existsSync(join(worktree, 'where.txt')));
});

test('resume by id: the same session id, the earlier turns in the history; an unknown id: Session not found, exit 1', async () => {
  const repo = await tempRepo();
  const env = fakeOpencodeEnv([
    { match: { resume: false }, steps: [{ text: 'FIRST answer' }] },
    { match: { resume: true }, expect: { historyIncludes: ['FIRST answer', 'first prompt'] }, result: { text: 'SECOND' } },
  ]);
  const first = await opencode(['run', '--format', 'json'], { pwd: repo, env, input: 'first prompt' });
  const id = String(jsonLines(first.stdout)[0]!.sessionID);
  const second = await opencode(['run', '--format', 'json', '--session', id], { pwd: repo, env, input: 'second prompt' });
  assert.is(second.code, 0, second.stderr);
  const events = jsonLines(second.stdout);
  assert.ok(events.every((e) => e.sessionID === id));
  assert.equal(
    events.map((e) => e.type),
    sample('resume.jsonl').map((e) => e.type),
  );
  const unknown = await opencode(['run', '--format', 'json', '--session', 'ses_nosuchsession'], { pwd: repo, env, input: 'x' });
  assert.is(unknown.code, 1);
  assert.is(unknown.stdout, '');
  assert.is(unknown.stderr, readFileSync(join(projectRoot, 'test', 'fixtures', 'agent-cli-samples', 'opencode', 'resume-unknown.stderr'), 'utf8'));
});

test('a resume from another directory: like the real CLI, no event and no end (only a timeout stops it)', async () => {
  const repo = await tempRepo();
  const other = await tempRepo('other');
  const env = fakeOpencodeEnv([{ steps: [{ text: 'one' }] }, { steps: [{ bash: 'touch resumed.txt' }] }]);
  const first = await opencode(['run', '--format', 'json'], { pwd: repo, env, input: 'a' });
  const id = String(jsonLines(first.stdout)[0]!.sessionID);
  const r = await opencode(['run', '--format', 'json', '--session', id], { pwd: other, env, input: 'b', timeoutMs: 1500 });
  assert.is(r.stdout, '');
  assert.is.not(r.code, 0, 'killed by the timeout');
  assert.ok(existsSync(join(repo, 'resumed.txt')), 'the work happened in the session\'s own directory');
  assert.not.ok(existsSync(join(other, 'resumed.txt')));
});

test('a failed bash step keeps status completed with metadata.exit; the adapter judges the stream like the real one', async () => {
  const repo = await tempRepo();
  const env = fakeOpencodeEnv([{ steps: [{ text: 'Let me try.' }, { bash: 'echo out; exit 3' }, { commit: 'nothing to commit' }] }]);
  const r = await opencode(['run', '--format', 'json'], { pwd: repo, env, input: 'x' });
  const events = jsonLines(r.stdout);
  const tool = events.find((e) => e.type === 'tool_use')!.part as { state: { status: string; output: string; metadata: { exit: number } } };
  assert.equal([tool.state.status, tool.state.output, tool.state.metadata.exit], ['completed', 'out\n', 3]);
  const p = opencodeAdapter.parser();
  const parsed: CliEvent[] = r.stdout.split('\n').filter(Boolean).flatMap((l) => p.line(l));
  parsed.push(...p.end({ code: r.code, signal: null }));
  assert.equal(parsed.filter((e) => e.kind === 'tool-failed').length, 2, 'the exit 3 and the empty commit');
  const result = parsed.at(-1) as Extract<CliEvent, { kind: 'result' }>;
  assert.ok(result.ok, 'the session itself ended with stop');
  assert.is(result.text, 'Let me try.');
});

test('a scripted error result: an error event and exit 1; commits made before it stay', async () => {
  const repo = await tempRepo();
  await sh(repo, 'config', 'user.email', 't@t');
  const env = fakeOpencodeEnv([{ steps: [{ write: { path: 'a.txt', content: 'a\n' } }, { commit: 'add a' }], result: { subtype: 'error_during_execution', errors: ['boom'] } }]);
  const r = await opencode(['run', '--format', 'json'], { pwd: repo, env, input: 'x' });
  assert.is(r.code, 1);
  const last = jsonLines(r.stdout).at(-1)!;
  assert.is(last.type, 'error');
  assert.is(await sh(repo, 'log', '-1', '--format=%s'), 'add a');
});

test('a refusal: nothing on stdout while it retries, one stream-error line on stderr per attempt (--print-logs), which the adapter reads as refused', async () => {
  const repo = await tempRepo();
  const env = fakeOpencodeEnv([{ refuse: { reason: 'quota' } }]);
  const child = spawn(env.COVEN_OPENCODE, ['run', '--format', 'json', '--print-logs', '--log-level', 'WARN'], { cwd: repo, env: { ...process.env, ...env, PWD: repo }, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end('x');
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const firstLine = await new Promise<string>((done) => child.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), stderr.includes('\n') && done(stderr.split('\n')[0]!))));
  child.kill('SIGTERM');
  const [code, signal] = await new Promise<[number | null, string | null]>((done) => child.on('exit', (c, s) => done([c, s])));
  assert.is(signal, 'SIGTERM', 'it dies of the signal, as the real one');
  assert.is(code, null);
  assert.is(stdout, '');
  assert.equal(opencodeAdapter.parser().stderr(firstLine), [{ kind: 'refused', refusal: { reason: 'quota', message: 'You exceeded your current quota, please check your plan and billing details.' } }]);
  const expected = readFileSync(join(projectRoot, 'test', 'fixtures', 'agent-cli-samples', 'opencode', 'fail-429-quota.stderr'), 'utf8').split('\n')[0]!;
  const fields = (l: string): string[] => [...l.matchAll(/(\S+?)=("[^"]*"|\S+)/g)].map((m) => m[1]!);
  assert.equal(fields(firstLine), fields(expected), 'the same log fields as the real line');
});

test('a 401 gives up at once: the error event with its status, exit 1', async () => {
  const repo = await tempRepo();
  const env = fakeOpencodeEnv([{ refuse: { reason: 'auth' } }]);
  const r = await opencode(['run', '--format', 'json'], { pwd: repo, env, input: 'x' });
  assert.is(r.code, 1);
  const e = jsonLines(r.stdout)[0]!;
  assert.equal(shape(e).sort(), shape(sample('fail-401.jsonl')[0]).sort());
  assert.is((e.error as { data: { statusCode: number } }).data.statusCode, 401);
});

test('the fake refuses to work inside coven\'s own checkout, and a script problem exits 97', async () => {
  const env = fakeOpencodeEnv([{ steps: [{ wait_for_message: 10 }] } as FakeRun]);
  const own = await opencode(['run', '--format', 'json'], { pwd: projectRoot, env, input: 'x' });
  assert.is(own.code, 97);
  const repo = await tempRepo();
  const r = await opencode(['run', '--format', 'json'], { pwd: repo, env, input: 'x' });
  assert.is(r.code, 97);
  assert.match(r.stderr, /no messages while a session runs/);
  const dir = tempDir();
  const noScript = fakeOpencodeEnv(null, dir);
  const plain = await opencode(['run', '--format', 'json'], { pwd: repo, env: noScript, input: 'x' });
  assert.is(plain.code, 0);
  assert.match(plain.stdout, /"text":"Done\."/);
});

test('an option it does not know: the usage on stderr, exit 1, nothing run (as the real CLI); the adapter says so', async () => {
  const repo = await tempRepo();
  const env = fakeOpencodeEnv([{ steps: [{ bash: 'touch ran.txt' }] }]);
  const r = await opencode(['run', '--format', 'json', '--allowedTools=Bash(git *)'], { pwd: repo, env, input: 'x' });
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.is(r.stderr, readFileSync(join(projectRoot, 'test', 'fixtures', 'agent-cli-samples', 'opencode', 'unknown-option.stderr'), 'utf8'), 'the real usage, byte for byte');
  assert.not.ok(existsSync(join(repo, 'ran.txt')));
  const p = opencodeAdapter.parser();
  for (const l of r.stderr.split('\n')) p.stderr(l);
  const result = p.end({ code: 1, signal: null })[0] as Extract<CliEvent, { kind: 'result' }>;
  assert.match(result.errors.join(' '), /refused its command line/);
});

test.run();
