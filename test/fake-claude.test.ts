// fake-claude — the fake follows the real CLI: argument rules and error texts, prompt
// input, output formats, and its event stream compared structurally with every captured
// sample (types, subtypes, keys and value types, recursively). Sessions, tools, signals
// and scripts: fake-claude-sessions.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, ruleMatches, splitRules } from '../fakes/claude.js';
import { cliSamplesDir, fakeClaudeBin, fakeClaudeEnv, fakeTranscriptPath, readFakeLog, runFake, streamEvents, userMessage, type FakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { projectRoot, tempDir, tempRepo } from './helpers/repo.js';
import { conversation, say, startMockMessagesApi, text } from './real-cli/mock-messages-api.js';

type Json = Record<string, unknown>;
const streamArgs = ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json'];
const fake = runFake;
const events = streamEvents;
const userLine = userMessage;
const resultOf = (stdout: string): Json => events(stdout).find((e) => e.type === 'result')!;

async function setup(script: FakeRun[] | null): Promise<{ repo: string; env: FakeClaudeEnv }> {
  return { repo: await tempRepo(), env: fakeClaudeEnv(script) };
}

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

// ------------------------------------------------------------------ arguments

test('--version prints the version of the CLI it imitates', async () => {
  const { repo, env } = await setup(null);
  const r = await fake(['--version'], { cwd: repo, env });
  assert.is(r.code, 0);
  assert.is(r.stdout, '2.1.197 (Claude Code)\n');
});

test("a session whose cwd is inside coven's own checkout is refused, nothing run, unless the test says so", async () => {
  const marker = join(tempDir(), 'ran');
  const env = fakeClaudeEnv([{ steps: [{ bash: `echo ran > ${marker}` }, { text: 'done' }], times: 'unlimited' }]);
  const inCheckout = join(projectRoot, 'fakes'); // any folder under the project's package.json
  const refused = await fake(['-p', 'hello', '--allowedTools', 'Bash'], { cwd: inCheckout, env });
  assert.is(refused.code, 97, refused.stderr);
  assert.match(refused.stderr, /^fake claude: refusing to run in \S+\/fakes: it is inside the coven project's own checkout \(\S+, whose package\.json is named coven\).* sets FAKE_CLAUDE_ALLOW_PROJECT_CWD=1\n$/);
  assert.not.ok(existsSync(marker), 'no step ran');
  assert.match(readFakeLog(env)[0]!.problems.join('\n'), /refusing to run in/);
  const allowed = await fake(['-p', 'hello', '--allowedTools', 'Bash'], { cwd: inCheckout, env: { ...env, FAKE_CLAUDE_ALLOW_PROJECT_CWD: '1' } });
  assert.is(allowed.code, 0, allowed.stderr);
  assert.is(readFileSync(marker, 'utf8'), 'ran\n');
});

test("the mock Messages API (for the real CLI) refuses a session whose working directory is inside coven's own checkout", async () => {
  const api = await startMockMessagesApi(conversation([{ when: 'hello', replies: [say(text('hi'))] }]));
  try {
    const ask = async (cwd: string) => {
      const body = { model: 'm', max_tokens: 10, stream: false, system: `Primary working directory: ${cwd}`, tools: [{ name: 'Bash' }], messages: [{ role: 'user', content: 'hello' }] };
      const r = await fetch(`${api.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, text: await r.text() };
    };
    const refused = await ask(join(projectRoot, 'scripts'));
    assert.is(refused.status, 400);
    assert.match(refused.text, /refusing to answer a session whose working directory \S+\/scripts is inside the coven project's own checkout/);
    const answered = await ask(tempDir());
    assert.is(answered.status, 200, answered.text);
    assert.match(answered.text, /"hi"/);
  } finally {
    await api.close();
  }
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
    [['-p', '--session-id', '123e4567-e89b-42d3-a456-426614174000', '--resume', '123e4567-e89b-42d3-a456-426614174000', 'hi'], 'Error: --session-id can only be used with --continue or --resume if --fork-session is also specified.\n'],
    [['-p', '--resume'], 'Error: --resume requires a valid session ID or session title when used with --print. Usage: claude -p --resume <session-id|title>\n'],
    [['-p', '--include-partial-messages', 'hi'], 'Error: --include-partial-messages requires --print and --output-format=stream-json.\n'],
    [['-p', '--output-format', 'yaml', 'hi'], "error: option '--output-format <format>' argument 'yaml' is invalid. Allowed choices are text, json, stream-json.\n"],
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
  const { repo, env } = await setup([{ steps: [{ text: 'Running step 1.' }, { bash: `python3 -c 'open("y.txt","w")'`, description: 'step 1' }], result: { text: 'DONE. last=' } }]);
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

  const second = await fake([...streamArgs, '--resume', id], { cwd: repo, env, input: userLine('second prompt') });
  assert.is(second.code, 0, second.stderr);
  const got = events(second.stdout);
  assertSameStructure('resume-same-cwd.jsonl', got);
  assert.is(got[0]!.session_id, id);
  assert.is(got.at(-1)!.session_id, id);
  assert.ok(readFileSync(transcript, 'utf8').split('\n').length > linesBefore, 'the transcript grew');
  // as in the sample: the model of the transcript's answers (no [1m]), and the cost of this run only
  assert.is(got[0]!.model, 'claude-opus-4-8');
  assert.equal(Object.keys(resultOf(second.stdout).modelUsage as Json), ['claude-opus-4-8']);
  assert.is(Math.round((got.at(-1)!.total_cost_usd as number) * 1e5), 56);

  const elsewhere = tempDir();
  const wrong = await fake([...streamArgs, '--resume', id], { cwd: elsewhere, env, input: userLine('third') });
  assert.is(wrong.code, 1);
  assert.is(wrong.stderr, `No conversation found with session ID: ${id}\n`);
  const miss = events(wrong.stdout);
  assertSameStructure('resume-wrong-cwd.jsonl', miss);
  assert.equal(miss[0]!.errors, [`No conversation found with session ID: ${id}`]);
});

/** What the real CLI 2.1.197 printed for the tool-use-success session with --include-partial-messages (test/real-cli capture). */
const realPartialSequence =
  'system/init system/status se:message_start se:content_block_start se:content_block_delta assistant/text se:content_block_stop se:content_block_start se:content_block_delta assistant/tool_use se:content_block_stop se:message_delta se:message_stop user/tool_result ' +
  'system/status se:message_start se:content_block_start se:content_block_delta assistant/text se:content_block_stop se:content_block_start se:content_block_delta assistant/tool_use se:content_block_stop se:message_delta se:message_stop user/tool_result ' +
  'system/status se:message_start se:content_block_start se:content_block_delta assistant/text se:content_block_stop se:message_delta se:message_stop result/success';

test('--include-partial-messages: status and stream_event lines in the order the real CLI prints them', async () => {
  const { repo, env } = await setup([
    { steps: [{ text: 'Running step 1.' }, { bash: 'echo hello > a.txt', description: 'step 1' }, { text: 'Running step 2.' }, { bash: 'cat a.txt', description: 'step 2' }, { text: 'DONE. last=' }] },
  ]);
  const r = await fake([...streamArgs, '--include-partial-messages', '--permission-mode', 'acceptEdits', '--allowedTools=Bash,Read,Edit,Write'], { cwd: repo, env, input: userLine('go') });
  const label = (e: Json): string => {
    if (e.type === 'stream_event') return `se:${String((e.event as Json).type)}`;
    if (e.type === 'assistant' || e.type === 'user') return `${e.type}/${String(((e.message as Json).content as Json[])[0]!.type)}`;
    return `${String(e.type)}${e.subtype ? `/${String(e.subtype)}` : ''}`;
  };
  const got = events(r.stdout);
  assert.is(got.map(label).join(' '), realPartialSequence);
  const deltas = got.filter((e) => e.type === 'stream_event' && (e.event as Json).type === 'content_block_delta').map((e) => ((e.event as Json).delta as Json).type);
  assert.equal(deltas, ['text_delta', 'input_json_delta', 'text_delta', 'input_json_delta', 'text_delta']);
});

test.run();
