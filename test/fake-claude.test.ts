// fake-claude — the fake follows the real CLI: argument rules and error texts, the event
// stream compared structurally with every captured sample, session files and resume
// rules, signals, tools that really act, and scripts shared by concurrent fakes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeProjectPath, parseArgs, ruleMatches, splitRules } from './fake-claude.js';
import { cliSamplesDir, fakeClaudeBin, fakeClaudeEnv, fakeTranscriptPath, readFakeLog, readFakeTranscript, type FakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { run, sh, tempDir, tempRepo, type Run } from './helpers/repo.js';

type Json = Record<string, unknown>;
const streamArgs = ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json'];

function userLine(text: string): string {
  return `${JSON.stringify({ type: 'user', message: { role: 'user', content: text } })}\n`;
}

/** Runs the fake to its end; stdin gets `input` and is closed (default: empty). */
function fake(args: string[], opts: { cwd: string; env: FakeClaudeEnv | Record<string, string>; input?: string }): Promise<Run> {
  return run(fakeClaudeBin, args, { cwd: opts.cwd, env: opts.env, input: opts.input ?? '' });
}

function events(stdout: string): Json[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Json);
}

const resultOf = (stdout: string): Json => events(stdout).find((e) => e.type === 'result')!;

/** The structure of an event: keys and value types, recursively (model names in modelUsage as '*'). */
function shape(v: unknown, key = ''): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return [...new Set(v.map((x) => JSON.stringify(shape(x))))].sort();
  if (typeof v === 'object') {
    const o = v as Json;
    if (key === 'modelUsage') return Object.fromEntries(Object.values(o).map((x) => ['*', shape(x)]));
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, shape(o[k], k)]),
    );
  }
  return typeof v;
}

function sample(name: string): Json[] {
  return events(readFileSync(join(cliSamplesDir(), name), 'utf8'));
}

function assertSameStructure(name: string, actual: Json[]): void {
  const want = sample(name);
  const label = (e: Json): string => `${String(e.type)}${e.subtype ? `/${String(e.subtype)}` : ''}`;
  assert.equal(actual.map(label), want.map(label), `${name}: event sequence`);
  want.forEach((w, i) => assert.equal(shape(actual[i]), shape(w), `${name}: fields of event ${i} (${label(w)})`));
}

async function setup(script: FakeRun[] | null): Promise<{ repo: string; env: FakeClaudeEnv }> {
  return { repo: await tempRepo(), env: fakeClaudeEnv(script) };
}

// ------------------------------------------------------------------ arguments

test('--version prints the version of the CLI it imitates', async () => {
  const { repo, env } = await setup(null);
  const r = await fake(['--version'], { cwd: repo, env });
  assert.is(r.code, 0);
  assert.is(r.stdout, '2.1.197 (Claude Code)\n');
});

test('usage errors print the real texts and exit 1', async () => {
  const { repo, env } = await setup(null);
  const cases: [string[], string][] = [
    [['-p', '--output-format', 'stream-json', 'hi'], 'Error: When using --print, --output-format=stream-json requires --verbose\n'],
    [['-p', '--input-format', 'stream-json', 'hi'], 'Error: --input-format=stream-json requires output-format=stream-json.\n'],
    [['-p', '--frobnicate', 'hi'], "error: unknown option '--frobnicate'\n"],
    [['-p', '--frobnicate=1', 'hi'], "error: unknown option '--frobnicate'\n"],
    [['-p', '--permission-mode', 'yolo', 'hi'], "error: option '--permission-mode <mode>' argument 'yolo' is invalid. Allowed choices are acceptEdits, auto, bypassPermissions, default, dontAsk, plan.\n"],
    [['-p', '--model'], "error: option '--model <model>' argument missing\n"],
    [['-p'], 'Error: Input must be provided either through stdin or as a prompt argument when using --print\n'],
    [['-p', '--session-id', 'not-a-uuid', 'hi'], 'Error: Invalid session ID. Must be a valid UUID.\n'],
  ];
  const runs = await Promise.all(cases.map(([args]) => fake(args, { cwd: repo, env })));
  for (const [i, [args, stderr]] of cases.entries()) {
    const r = runs[i]!;
    assert.is(r.stderr, stderr, args.join(' '));
    assert.is(r.code, 1, args.join(' '));
    assert.is(r.stdout, '', args.join(' '));
  }
});

test('variadic flags swallow a following prompt; --flag=value and -- keep it', async () => {
  const { repo, env } = await setup(null);
  const swallowed = await fake(['-p', '--allowedTools', 'Bash', 'do the thing'], { cwd: repo, env });
  assert.is(swallowed.code, 1);
  assert.match(swallowed.stderr, /Input must be provided/);
  const kept = [
    ['-p', '--allowedTools=Bash', 'do the thing'],
    ['-p', '--allowedTools', 'Bash', '--', 'do the thing'],
    ['-p', '--add-dir', '/tmp', '--model', 'x', 'do the thing'],
  ];
  const runs = await Promise.all(kept.map((args) => fake(args, { cwd: repo, env })));
  for (const [i, r] of runs.entries()) {
    assert.is(r.code, 0, kept[i]!.join(' '));
    assert.is(r.stdout, 'Done.\n', kept[i]!.join(' '));
  }
  const prompts = readFakeLog(env).map((i) => i.prompts.join());
  assert.equal(prompts.sort(), ['', 'do the thing', 'do the thing', 'do the thing']);
});

test('the argument parser follows commander', () => {
  const ok = (argv: string[]) => {
    const r = parseArgs(argv);
    if (r.kind !== 'args') throw new Error(r.message);
    return r.args;
  };
  assert.equal(ok(['-p', '--tools', 'Bash', 'Read', 'prompt']).options.tools, ['Bash', 'Read', 'prompt']);
  assert.equal(ok(['-p', '--tools', 'Bash', '--verbose', 'prompt']).operands, ['prompt']);
  assert.equal(ok(['-pc']).options, { print: true, continue: true });
  assert.equal(ok(['-r', 'abc', '-p']).options.resume, 'abc');
  assert.equal(ok(['--resume', '-p']).options.resume, true);
  assert.equal(ok(['-p', '--', '--not-an-option']).operands, ['--not-an-option']);
  assert.equal(ok(['--model', 'a', '--model', 'b']).options.model, 'b');
  assert.equal(ok(['--append-system-prompt', '--looks-like-a-flag']).options.appendSystemPrompt, '--looks-like-a-flag');
  assert.equal(splitRules(['Bash(git *),Read Edit', 'Bash(npm test:*)']), ['Bash(git *)', 'Read', 'Edit', 'Bash(npm test:*)']);
  assert.ok(ruleMatches('Bash(git *)', 'Bash', 'git status'));
  assert.not.ok(ruleMatches('Bash(git *)', 'Bash', 'gitx status'));
  assert.ok(ruleMatches('Bash(npm test:*)', 'Bash', 'npm test -- --watch'));
  assert.not.ok(ruleMatches('Bash(npm test:*)', 'Bash', 'npm testing'));
  assert.ok(ruleMatches('Bash', 'Bash', 'rm -rf x'));
  assert.not.ok(ruleMatches('Edit', 'Bash', 'ls'));
});

test('bypass mode is refused as root unless IS_SANDBOX=1', async () => {
  const { repo, env } = await setup(null);
  const [bypass, skip, sandboxed] = await Promise.all([
    fake(['-p', '--permission-mode', 'bypassPermissions', 'hi'], { cwd: repo, env: { ...env, IS_SANDBOX: '' } }),
    fake(['-p', '--dangerously-skip-permissions', 'hi'], { cwd: repo, env: { ...env, IS_SANDBOX: '' } }),
    fake(['-p', '--dangerously-skip-permissions', 'hi'], { cwd: repo, env: { ...env, IS_SANDBOX: '1' } }),
  ]);
  assert.is(sandboxed.code, 0);
  if (process.getuid?.() === 0) {
    for (const r of [bypass, skip]) {
      assert.is(r.code, 1);
      assert.match(r.stderr, /cannot be used with root\/sudo privileges/);
    }
  } else {
    assert.is(bypass.code, 0);
    assert.is(skip.code, 0);
  }
});

test('the prompt comes from the argument, stdin text, or both ("<arg>\\n<stdin>")', async () => {
  const { repo, env } = await setup(null);
  assert.is((await fake(['-p'], { cwd: repo, env, input: 'from stdin\n' })).code, 0);
  assert.is((await fake(['-p', 'from arg'], { cwd: repo, env, input: 'and stdin\n' })).code, 0);
  assert.equal(
    readFakeLog(env).map((i) => i.prompts[0]),
    ['from stdin', 'from arg\nand stdin'],
  );
});

test('with a prompt argument and a silent open stdin, it warns after 3 s and goes on', async () => {
  const { repo, env } = await setup(null);
  const child = spawn(fakeClaudeBin, ['-p', 'hi'], { cwd: repo, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  child.stdin.destroy();
  assert.is(code, 0);
  assert.match(stderr, /^Warning: no stdin data received in 3s, proceeding without it/);
  assert.is(stdout, 'Done.\n');
});

test('json prints the result object, json --verbose every event, text the result text', async () => {
  const { repo, env } = await setup(null);
  const json = await fake(['-p', '--output-format', 'json', 'hi'], { cwd: repo, env });
  assert.is((JSON.parse(json.stdout) as Json).result, 'Done.');
  const verbose = JSON.parse((await fake(['-p', '--output-format', 'json', '--verbose', 'hi'], { cwd: repo, env })).stdout) as Json[];
  assert.equal(
    verbose.map((e) => e.type),
    ['system', 'assistant', 'result'],
  );
  assert.is((await fake(['-p', 'hi'], { cwd: repo, env })).stdout, 'Done.\n');
});

// ------------------------------------------------------------------ the event stream vs the samples

test('a tool-using run has the structure of tool-use-success.jsonl', async () => {
  const { repo, env } = await setup([
    { steps: [{ text: 'Running step 1.' }, { bash: 'echo hello > a.txt', description: 'step 1' }, { text: 'Running step 2.' }, { bash: 'cat a.txt', description: 'step 2' }, { text: 'DONE. last=' }] },
  ]);
  const r = await fake([...streamArgs, '--permission-mode', 'acceptEdits', '--allowedTools=Bash,Read,Edit,Write'], { cwd: repo, env, input: userLine('go') });
  assert.is(r.code, 0, r.stderr);
  const got = events(r.stdout);
  assertSameStructure('tool-use-success.jsonl', got);
  // the same values where the sample's do not depend on the mock
  const ids = got.filter((e) => e.type === 'assistant').map((e) => (e.message as Json).id);
  assert.is(ids[0], ids[1], 'blocks of one model message share message.id');
  assert.is(ids[2], ids[3]);
  assert.is.not(ids[1], ids[2]);
  const toolResults = got.filter((e) => e.type === 'user').map((e) => ((e.message as Json).content as Json[])[0]!.content);
  assert.equal(toolResults, ['(Bash completed with no output)', 'hello']);
  const result = got.at(-1)!;
  assert.is(result.num_turns, 3);
  assert.is(result.result, 'DONE. last=');
  assert.is(Math.round((result.total_cost_usd as number) * 1e5), 168);
  assert.is(new Set(got.map((e) => e.session_id)).size, 1);
  assert.is(got[0]!.cwd, repo);
  assert.is(readFileSync(join(repo, 'a.txt'), 'utf8'), 'hello\n');
});

test('--max-turns ends the run like error-max-turns.jsonl', async () => {
  const { repo, env } = await setup([{ steps: [{ text: 'Running step 1.' }, { bash: 'echo 1', description: 'step 1' }, { text: 'Running step 2.' }, { bash: 'echo 2' }] }]);
  const r = await fake([...streamArgs, '--allowedTools=Bash', '--max-turns', '1'], { cwd: repo, env, input: userLine('go') });
  assert.is(r.code, 1);
  const got = events(r.stdout);
  assertSameStructure('error-max-turns.jsonl', got);
  assert.equal(got.at(-1)!.errors, ['Reached maximum number of turns (1)']);
  assert.is(got.at(-1)!.num_turns, 2);
  assert.is('result' in got.at(-1)!, false);
});

test('a denied Bash call looks like permission-denied.jsonl and changes nothing', async () => {
  const { repo, env } = await setup([{ steps: [{ text: 'Running step 1.' }, { bash: 'touch y.txt', description: 'step 1' }], result: { text: 'DONE. last=' } }]);
  const r = await fake(streamArgs, { cwd: repo, env, input: userLine('go') });
  assert.is(r.code, 0);
  const got = events(r.stdout);
  assertSameStructure('permission-denied.jsonl', got);
  const denied = got[3]!;
  assert.is(((denied.message as Json).content as Json[])[0]!.content, 'This command requires approval');
  assert.is(denied.tool_use_result, 'Error: This command requires approval');
  assert.equal(((got.at(-1)!.permission_denials as Json[])[0] as Json).tool_name, 'Bash');
  assert.is(existsSync(join(repo, 'y.txt')), false);
});

test('an API error run looks like api-error-400.jsonl: success + is_error, exit 1', async () => {
  const { repo, env } = await setup([{ api_error: { status: 400 } }]);
  const r = await fake(streamArgs, { cwd: repo, env, input: userLine('go') });
  assert.is(r.code, 1);
  const got = events(r.stdout);
  assertSameStructure('api-error-400.jsonl', got);
  assert.is(got.at(-1)!.subtype, 'success');
  assert.is(got.at(-1)!.is_error, true);
  assert.is(got.at(-1)!.result, 'API Error: 400 mock error 400');
  assert.is(((got[1]!.message as Json).model), '<synthetic>');
});

test('resume in the same cwd keeps the id and appends (resume-same-cwd.jsonl); from another cwd it fails like resume-wrong-cwd.jsonl', async () => {
  const { repo, env } = await setup([
    { steps: [{ text: 'first' }] },
    { expect: { resume: true, historyIncludes: 'first prompt', promptIncludes: 'second prompt' }, steps: [{ text: 'DONE. last=second prompt' }] },
  ]);
  const first = await fake(streamArgs, { cwd: repo, env, input: userLine('first prompt') });
  const id = resultOf(first.stdout).session_id as string;
  const transcript = fakeTranscriptPath(env, repo, id);
  const linesBefore = readFileSync(transcript, 'utf8').split('\n').length;

  const second = await fake([...streamArgs, '--model', 'claude-opus-4-8', '--resume', id], { cwd: repo, env, input: userLine('second prompt') });
  assert.is(second.code, 0, second.stderr);
  const got = events(second.stdout);
  assertSameStructure('resume-same-cwd.jsonl', got);
  assert.is(got[0]!.session_id, id);
  assert.is(got.at(-1)!.session_id, id);
  assert.ok(readFileSync(transcript, 'utf8').split('\n').length > linesBefore, 'the transcript grew');
  // the cost continues from the transcript (reference §2)
  assert.is(Math.round((got.at(-1)!.total_cost_usd as number) * 1e5), 112);

  const elsewhere = tempDir();
  const wrong = await fake([...streamArgs, '--resume', id], { cwd: elsewhere, env, input: userLine('third') });
  assert.is(wrong.code, 1);
  assert.is(wrong.stderr, `No conversation found with session ID: ${id}\n`);
  const miss = events(wrong.stdout);
  assertSameStructure('resume-wrong-cwd.jsonl', miss);
  assert.equal(miss[0]!.errors, [`No conversation found with session ID: ${id}`]);
});

test('--include-partial-messages adds stream_event deltas before each block and its stop after', async () => {
  const { repo, env } = await setup([{ steps: [{ text: 'Hello there, this is a longer text.' }] }]);
  const r = await fake([...streamArgs, '--include-partial-messages'], { cwd: repo, env, input: userLine('go') });
  const seq = events(r.stdout).map((e) => (e.type === 'stream_event' ? `se:${String((e.event as Json).type)}` : String(e.type)));
  assert.equal(seq, ['system', 'se:message_start', 'se:content_block_start', 'se:content_block_delta', 'se:content_block_delta', 'assistant', 'se:content_block_stop', 'se:message_delta', 'se:message_stop', 'result']);
});

// ------------------------------------------------------------------ sessions

test('project folders are encoded like the real CLI', () => {
  assert.is(encodeProjectPath('/home/dev/my.repo_x-wt/feat_1.2'), '-home-dev-my-repo-x-wt-feat-1-2');
  assert.is(encodeProjectPath('/home/dev/sp ace/ünï'), '-home-dev-sp-ace--n-');
  const long = encodeProjectPath(`/${'a'.repeat(300)}`);
  assert.match(long, /^-a{199}-[0-9a-z]+$/);
});

test('the transcript starts with the user line and holds the session', async () => {
  const { repo, env } = await setup([{ steps: [{ text: 'ok' }] }]);
  const r = await fake(streamArgs, { cwd: repo, env, input: userLine('write the plan') });
  const id = resultOf(r.stdout).session_id as string;
  const lines = readFakeTranscript(env, repo, id);
  assert.is(lines[0]!.type, 'user');
  assert.equal(lines[0]!.message, { role: 'user', content: 'write the plan' });
  assert.is(lines[0]!.sessionId, id);
  assert.is(lines[0]!.cwd, repo);
  assert.ok(lines.some((l) => l.type === 'assistant'));
});

test('stream-json input: one turn per message, each with its own init and result, one session id, exit 0 at EOF', async () => {
  const { repo, env } = await setup(null);
  const r = await fake(streamArgs, { cwd: repo, env, input: userLine('one') + userLine('two') });
  assert.is(r.code, 0);
  const got = events(r.stdout);
  assert.equal(
    got.map((e) => e.type),
    ['system', 'assistant', 'result', 'system', 'assistant', 'result'],
  );
  assert.is(new Set(got.map((e) => e.session_id)).size, 1);
  const costs = got.filter((e) => e.type === 'result').map((e) => Math.round((e.total_cost_usd as number) * 1e5));
  assert.equal(costs, [56, 112], 'total_cost_usd adds up across turns');
  const empty = await fake(streamArgs, { cwd: repo, env, input: '' });
  assert.is(empty.code, 0);
  assert.is(empty.stdout, '');
});

test('--fork-session, --continue, --session-id and --no-session-persistence', async () => {
  const { repo, env } = await setup(null);
  const first = resultOf((await fake(streamArgs, { cwd: repo, env, input: userLine('origin') })).stdout).session_id as string;
  const forked = resultOf((await fake([...streamArgs, '--resume', first, '--fork-session'], { cwd: repo, env, input: userLine('fork') })).stdout).session_id as string;
  assert.is.not(forked, first);
  assert.match(readFileSync(fakeTranscriptPath(env, repo, forked), 'utf8'), /origin/);
  assert.not.match(readFileSync(fakeTranscriptPath(env, repo, first), 'utf8'), /fork/);

  const continued = resultOf((await fake([...streamArgs, '--continue'], { cwd: repo, env, input: userLine('more') })).stdout).session_id;
  assert.is(continued, forked, '--continue takes the newest session');

  const chosen = '123e4567-e89b-42d3-a456-426614174000';
  assert.is(resultOf((await fake([...streamArgs, '--session-id', chosen], { cwd: repo, env, input: userLine('x') })).stdout).session_id, chosen);
  const reused = await fake([...streamArgs, '--session-id', chosen], { cwd: repo, env, input: userLine('x') });
  assert.is(reused.code, 1);
  assert.is(reused.stderr, `Error: Session ID ${chosen} is already in use.\n`);

  const ephemeral = resultOf((await fake([...streamArgs, '--no-session-persistence'], { cwd: repo, env, input: userLine('x') })).stdout).session_id as string;
  assert.is(existsSync(fakeTranscriptPath(env, repo, ephemeral)), false);
  assert.is((await fake([...streamArgs, '--resume', ephemeral], { cwd: repo, env, input: userLine('x') })).code, 1);
});

// ------------------------------------------------------------------ tools act for real

test('bash, write, edit, read and commit steps really act in the cwd', async () => {
  const { repo, env } = await setup([
    {
      steps: [
        { write: { path: 'src/a.ts', content: 'export const a = 1;\n' } },
        { edit: { path: 'README.md', old: '# test', new: '# edited' } },
        { read: 'src/a.ts' },
        { bash: 'ls src && exit 3' },
        { edit: { path: 'README.md', old: 'not there', new: 'x' } },
        { commit: 'feat: add a' },
      ],
    },
  ]);
  const r = await fake([...streamArgs, '--permission-mode', 'acceptEdits', '--allowedTools=Bash'], { cwd: repo, env, input: userLine('go') });
  assert.is(r.code, 0, r.stderr);
  assert.is(readFileSync(join(repo, 'src/a.ts'), 'utf8'), 'export const a = 1;\n');
  assert.is(readFileSync(join(repo, 'README.md'), 'utf8'), '# edited\n');
  assert.is(await sh(repo, 'log', '-1', '--format=%s'), 'feat: add a');
  assert.is(await sh(repo, 'status', '--porcelain'), '');
  const results = events(r.stdout)
    .filter((e) => e.type === 'user')
    .map((e) => ((e.message as Json).content as Json[])[0]!);
  assert.equal(
    results.map((b) => b.is_error),
    [false, false, false, true, true, false],
  );
  assert.is(results[3]!.content, 'Exit code 3\na.ts');
  assert.match(String(results[2]!.content), /export const a = 1;/);
  const tools = events(r.stdout)
    .filter((e) => e.type === 'assistant')
    .flatMap((e) => ((e.message as Json).content as Json[]).filter((b) => b.type === 'tool_use').map((b) => b.name));
  assert.equal(tools, ['Write', 'Edit', 'Read', 'Bash', 'Edit', 'Bash']);
});

test('permission modes and rules decide which calls run', async () => {
  const steps: FakeRun['steps'] = [{ write: { path: 'w.txt', content: 'w' } }, { bash: 'git status --short' }, { bash: 'git add -A && touch z.txt' }];
  const denials = async (args: string[]): Promise<string[]> => {
    const { repo, env } = await setup([{ steps }]);
    const r = await fake([...streamArgs, ...args], { cwd: repo, env, input: userLine('go') });
    return (resultOf(r.stdout).permission_denials as Json[]).map((d) => `${String(d.tool_name)}:${String((d.tool_input as Json).command ?? '')}`);
  };
  const cases: [string[], string[]][] = [
    [[], ['Write:', 'Bash:git status --short', 'Bash:git add -A && touch z.txt']],
    [['--permission-mode', 'acceptEdits'], ['Bash:git status --short', 'Bash:git add -A && touch z.txt']],
    [['--permission-mode', 'acceptEdits', '--allowedTools=Bash(git *)'], ['Bash:git add -A && touch z.txt']],
    [['--allowedTools', 'Bash', 'Write'], []],
    [['--allowedTools=Bash,Write', '--disallowedTools=Bash(touch *)'], ['Bash:git add -A && touch z.txt']],
  ];
  const got = await Promise.all(cases.map(([args]) => denials(args)));
  cases.forEach(([args, want], i) => assert.equal(got[i], want, args.join(' ')));
});

// ------------------------------------------------------------------ failures on demand

function startFake(args: string[], repo: string, env: FakeClaudeEnv) {
  const child = spawn(fakeClaudeBin, args, { cwd: repo, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  return {
    child,
    stdout: () => stdout,
    exit: new Promise<number | null>((r) => child.on('close', (code) => r(code))),
    async waitFor(text: string): Promise<void> {
      while (!stdout.includes(text)) await new Promise<void>((r) => waiters.push(r));
    },
  };
}

test('SIGTERM ends the fake with 143 and SIGINT with 0, both without a result', async () => {
  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 0]] as const) {
    const { repo, env } = await setup([{ steps: [{ text: 'thinking hard' }], hang: 'before-result' }]);
    const f = startFake(streamArgs, repo, env);
    f.child.stdin.write(userLine('go'));
    await f.waitFor('thinking hard');
    f.child.kill(signal);
    assert.is(await f.exit, code, signal);
    assert.not.match(f.stdout(), /"type":"result"/, signal);
    assert.is(readFakeLog(env)[0]!.signal, signal);
  }
});

test('crashAfterStep exits without a result; the script decides the exit code', async () => {
  const { repo, env } = await setup([{ steps: [{ text: 'a' }, { text: 'b' }], crashAfterStep: 1, exit: 2 }]);
  const r = await fake(streamArgs, { cwd: repo, env, input: userLine('go') });
  assert.is(r.code, 2);
  assert.equal(
    events(r.stdout).map((e) => e.type),
    ['system', 'assistant'],
  );
});

// ------------------------------------------------------------------ scripts

test('runs are consumed in order; an unmet expectation or an exhausted script exits 97', async () => {
  const { repo, env } = await setup([{ result: { text: 'one' } }, { result: { text: 'two' }, expect: { promptIncludes: 'magic' } }]);
  assert.is((await fake(['-p', 'hi'], { cwd: repo, env })).stdout, 'one\n');
  const unmet = await fake(['-p', 'plain'], { cwd: repo, env });
  assert.is(unmet.code, 97);
  assert.match(unmet.stderr, /expectation failed \(run #1\): prompt lacks "magic"/);
  const exhausted = await fake(['-p', 'hi'], { cwd: repo, env });
  assert.is(exhausted.code, 97);
  assert.match(exhausted.stderr, /no scripted run left/);
  assert.equal(
    readFakeLog(env).map((i) => i.problems.length),
    [0, 1, 1],
  );
});

test('concurrent fakes share one script: each run is used once, matched by prompt', async () => {
  const n = 6;
  const runs: FakeRun[] = [
    ...Array.from({ length: n }, (_, i): FakeRun => ({ match: { promptIncludes: `job-${i}` }, result: { text: `reply-${i}` } })),
    ...Array.from({ length: n }, (_, i): FakeRun => ({ result: { text: `any-${i}` } })),
  ];
  const { repo, env } = await setup(runs);
  const matched = await Promise.all(Array.from({ length: n }, (_, i) => fake(['-p', `please do job-${i}`], { cwd: repo, env })));
  assert.equal(
    matched.map((r) => r.stdout),
    Array.from({ length: n }, (_, i) => `reply-${i}\n`),
  );
  const unmatched = await Promise.all(Array.from({ length: n }, () => fake(['-p', 'whatever'], { cwd: repo, env })));
  assert.equal(unmatched.map((r) => r.stdout).sort(), Array.from({ length: n }, (_, i) => `any-${i}\n`).sort());
  const used = JSON.parse(readFileSync(`${env.FAKE_CLAUDE_SCRIPT}.counter.json`, 'utf8')) as { used: number[] };
  assert.equal(used.used, Array(2 * n).fill(1));
});

test('times: "unlimited" serves every matching turn', async () => {
  const { repo, env } = await setup([{ match: { promptIncludes: 'dispatch' }, times: 'unlimited', result: { text: 'sleep' } }, { result: { text: 'other' } }]);
  for (let i = 0; i < 3; i++) assert.is((await fake(['-p', 'dispatch now'], { cwd: repo, env })).stdout, 'sleep\n');
  assert.is((await fake(['-p', 'work'], { cwd: repo, env })).stdout, 'other\n');
});

test('the invocation log records argv, cwd, stdin, times and an env subset', async () => {
  const { repo, env } = await setup(null);
  await fake([...streamArgs, '--append-system-prompt', 'protocol'], { cwd: repo, env: { ...env, CLAUDECODE: '1', COVEN_WORKER: 'w1' }, input: userLine('hello') });
  const [inv] = readFakeLog(env);
  assert.ok(inv);
  assert.equal(inv.argv, [...streamArgs, '--append-system-prompt', 'protocol']);
  assert.is(inv.cwd, repo);
  assert.is(inv.stdin, userLine('hello'));
  assert.equal(inv.prompts, ['hello']);
  assert.is(inv.env.CLAUDECODE, '1');
  assert.is(inv.env.COVEN_WORKER, 'w1');
  assert.is(inv.env.CLAUDE_CONFIG_DIR, env.CLAUDE_CONFIG_DIR);
  assert.ok(Date.parse(inv.startedAt) <= Date.parse(inv.endedAt));
  assert.is(inv.exitCode, 0);
  assert.is(typeof inv.pid, 'number');
});

test('a script that is not valid says why', async () => {
  const dir = tempDir();
  mkdirSync(dir, { recursive: true });
  const env = fakeClaudeEnv(null, dir);
  env.FAKE_CLAUDE_SCRIPT = join(dir, 'bad.json');
  writeFileSync(env.FAKE_CLAUDE_SCRIPT, JSON.stringify([{ steps: [{ explode: true }] }]));
  const r = await fake(['-p', 'hi'], { cwd: dir, env });
  assert.is(r.code, 97);
  assert.match(r.stderr, /invalid FAKE_CLAUDE_SCRIPT/);
});

test.run();
