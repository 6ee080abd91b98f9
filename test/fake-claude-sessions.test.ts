// fake-claude (sessions) — the fake's session files and resume rules, tools that really
// act in the cwd, permission modes, signals and crashes, and scripts shared by
// concurrent fakes. Arguments and the event stream: fake-claude.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from '../scripts/lib/locks/process-identity.js';
import { checkPermission, encodeProjectPath } from '../fakes/claude.js';
import { fakeClaudeBin, fakeClaudeEnv, fakeTranscriptPath, readFakeLog, readFakeTranscript, runFake, streamEvents, userMessage, type FakeClaudeEnv, type FakeRun } from './helpers/fake-claude.js';
import { sh, tempDir, tempRepo } from './helpers/repo.js';

type Json = Record<string, unknown>;
const streamArgs = ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json'];
const fake = runFake;
const events = streamEvents;
const userLine = userMessage;
const resultOf = (stdout: string): Json => events(stdout).find((e) => e.type === 'result')!;

async function setup(script: FakeRun[] | null): Promise<{ repo: string; env: FakeClaudeEnv }> {
  return { repo: await tempRepo(), env: fakeClaudeEnv(script) };
}

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
  const fresh = await fake([...streamArgs, '--continue'], { cwd: tempDir(), env, input: userLine('x') });
  assert.is(fresh.code, 0, '--continue with nothing to continue starts a new session');
  assert.is.not(resultOf(fresh.stdout).session_id, forked);

  const chosen = '123e4567-e89b-42d3-a456-426614174000';
  assert.is(resultOf((await fake([...streamArgs, '--session-id', chosen], { cwd: repo, env, input: userLine('x') })).stdout).session_id, chosen);
  const reused = await fake([...streamArgs, '--session-id', chosen], { cwd: repo, env, input: userLine('x') });
  assert.is(reused.code, 1);
  assert.is(reused.stderr, `Error: Session ID ${chosen} is already in use.\n`);

  const ephemeral = resultOf((await fake([...streamArgs, '--no-session-persistence'], { cwd: repo, env, input: userLine('x') })).stdout).session_id as string;
  assert.is(existsSync(fakeTranscriptPath(env, repo, ephemeral)), false);
  assert.is((await fake([...streamArgs, '--resume', ephemeral], { cwd: repo, env, input: userLine('x') })).code, 1);
});

test('a resumed run (--resume, --continue, --fork-session) goes on with the model of its transcript and counts only its own cost, as the real CLI does', async () => {
  const { repo, env } = await setup(null);
  const first = resultOf((await fake(streamArgs, { cwd: repo, env, input: userLine('origin') })).stdout);
  assert.equal(Object.keys(first.modelUsage as Json), ['claude-opus-4-8[1m]']);
  const id = first.session_id as string;
  for (const how of [['--resume', id], ['--continue'], ['--resume', id, '--fork-session']]) {
    const r = await fake([...streamArgs, ...how], { cwd: repo, env, input: userLine('again') });
    const got = events(r.stdout);
    assert.is(got[0]!.model, 'claude-opus-4-8', `${how.join(' ')}: the API's name of the model, as the transcript has it`);
    assert.is(Math.round((resultOf(r.stdout).total_cost_usd as number) * 1e5), 56, `${how.join(' ')}: this run's cost only`);
  }
  const chosen = await fake([...streamArgs, '--resume', id, '--model', 'claude-sonnet-4-5'], { cwd: repo, env, input: userLine('again') });
  assert.is(events(chosen.stdout)[0]!.model, 'claude-sonnet-4-5', '--model wins');
});

// ------------------------------------------------------------------ tools act for real

test('reply_from_bash answers with what a command printed, and the command sees the prompt', async () => {
  const { repo, env } = await setup([{ steps: [{ reply_from_bash: 'printf "<dispatch>\\nsleep: %s\\n</dispatch>" "$(printf %s "$FAKE_CLAUDE_PROMPT" | wc -c | tr -d " ")"' }] }]);
  const r = await fake([...streamArgs, '--permission-mode', 'acceptEdits', '--allowedTools=Bash'], { cwd: repo, env, input: userLine('twelve chars') });
  assert.is(r.code, 0, r.stderr);
  const all = events(r.stdout);
  const result = all.find((e) => e.type === 'result')!;
  assert.is(result.result, '<dispatch>\nsleep: 12\n</dispatch>');
  assert.ok(all.some((e) => e.type === 'user'), 'the command shows as a Bash tool call with its result');
});

test('text_from_command: the text a command computes from the prompt, with no tool call and no permission needed', async () => {
  const { repo, env } = await setup([{ steps: [{ text_from_command: 'printf "I read %s chars in %s" "$(printf %s "$FAKE_CLAUDE_PROMPT" | wc -c | tr -d " ")" "$(basename "$PWD")"' }] }]);
  // dontAsk with nothing allowed: a Bash call would be refused
  const r = await fake([...streamArgs, '--permission-mode', 'dontAsk'], { cwd: repo, env, input: userLine('twelve chars') });
  assert.is(r.code, 0, r.stderr);
  const all = events(r.stdout);
  assert.is(all.find((e) => e.type === 'result')!.result, 'I read 12 chars in project');
  assert.is(all.some((e) => e.type === 'user'), false, 'no tool call, so no tool result');
});

test('bash, write, edit, read and commit steps really act in the cwd', async () => {
  const { repo, env } = await setup([
    {
      steps: [
        { write: { path: 'src/a.ts', content: 'export const a = 1;\n' } },
        { edit: { path: 'README.md', old: '# test', new: '# edited' } },
        { read: 'README.md' },
        { edit: { path: 'README.md', old: '# test', new: '# edited' } },
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
    [undefined, true, undefined, undefined, true, true, false],
    'Bash results always say is_error, the file tools only when they fail',
  );
  assert.is(results[1]!.content, '<tool_use_error>File has not been read yet. Read it first before writing to it.</tool_use_error>');
  assert.is(results[2]!.content, '1\t# test\n2\t');
  assert.is(results[4]!.content, 'Exit code 3\na.ts');
  assert.match(String(results[5]!.content), /String to replace not found/);
  const edit = events(r.stdout).filter((e) => e.type === 'user')[3]!.tool_use_result as Json;
  assert.equal(edit.structuredPatch, [{ oldStart: 1, oldLines: 1, newStart: 1, newLines: 1, lines: ['-# test', '+# edited'] }]);
  const tools = events(r.stdout)
    .filter((e) => e.type === 'assistant')
    .flatMap((e) => ((e.message as Json).content as Json[]).filter((b) => b.type === 'tool_use').map((b) => b.name));
  assert.equal(tools, ['Write', 'Edit', 'Read', 'Edit', 'Bash', 'Edit', 'Bash']);
});

test("a Bash call's stderr joins its stdout, in the order written", async () => {
  const { repo, env } = await setup([{ steps: [{ bash: 'echo one; echo two >&2; echo three' }, { bash: 'echo oops >&2; exit 2' }] }]);
  const r = await fake([...streamArgs, '--allowedTools=Bash'], { cwd: repo, env, input: userLine('go') });
  const results = events(r.stdout).filter((e) => e.type === 'user');
  assert.equal(results[0]!.tool_use_result, { stdout: 'one\ntwo\nthree', stderr: '', interrupted: false, isImage: false, noOutputExpected: false });
  assert.is(((results[1]!.message as Json).content as Json[])[0]!.content, 'Exit code 2\noops');
});

test('wait_for_file waits, without an event, until the file exists', async () => {
  const gate = join(tempDir(), 'gate');
  const { repo, env } = await setup([{ steps: [{ text: 'before' }, { wait_for_file: gate, timeout_ms: 20_000 }, { text: 'after' }] }]);
  const child = startFake([...streamArgs], repo, env);
  child.child.stdin.end(userLine('go'));
  await child.waitFor('before');
  assert.not.match(child.stdout(), /after/);
  writeFileSync(gate, '');
  assert.is(await child.exit, 0);
  const texts = events(child.stdout())
    .filter((e) => e.type === 'assistant')
    .map((e) => ((e.message as Json).content as Json[])[0]!.text);
  assert.equal(texts, ['before', 'after']);
});

test('permission modes and rules decide which calls run', async () => {
  const steps: FakeRun['steps'] = [{ write: { path: 'w.txt', content: 'w' } }, { bash: 'git status --short' }, { bash: 'git add -A && touch z.txt' }];
  const denials = async (args: string[]): Promise<string[]> => {
    const { repo, env } = await setup([{ steps }]);
    const r = await fake([...streamArgs, ...args], { cwd: repo, env, input: userLine('go') });
    return (resultOf(r.stdout).permission_denials as Json[]).map((d) => `${String(d.tool_name)}:${String((d.tool_input as Json).command ?? '')}`);
  };
  const cases: [string[], string[]][] = [
    [[], ['Write:', 'Bash:git add -A && touch z.txt']],
    [['--permission-mode', 'acceptEdits'], ['Bash:git add -A && touch z.txt']],
    [['--permission-mode', 'acceptEdits', '--allowedTools=Bash(git *)'], []],
    [['--allowedTools', 'Bash', 'Write'], []],
    [['--allowedTools=Bash,Write', '--disallowedTools=Bash(touch *)'], ['Bash:git add -A && touch z.txt']],
  ];
  const got = await Promise.all(cases.map(([args]) => denials(args)));
  cases.forEach(([args, want], i) => assert.equal(got[i], want, args.join(' ')));
});

test('permission answers are the real CLI\'s (observed with 2.1.197 against the mock API)', () => {
  const cwd = '/w/repo';
  const ctx = (mode: string, allow: string[] = [], deny: string[] = []) => ({ mode, allow, deny, dirs: [cwd] });
  const bash = (command: string, c: ReturnType<typeof ctx>) => checkPermission('Bash', { command }, c);
  const where = `allowed working directories for this session: '${cwd}'.`;
  for (const mode of ['default', 'dontAsk', 'plan', 'acceptEdits']) {
    for (const ok of ['ls', 'cat README.md', 'git status', 'git log -1 | cat', 'grep x README.md', 'find . -name a', 'echo a; pwd', 'true']) assert.is(bash(ok, ctx(mode)), null, `${mode}: ${ok}`);
    assert.is(bash('node -e 1', ctx(mode)), 'This command requires approval', mode);
    assert.is(bash('git add -A', ctx(mode)), 'This command requires approval', mode);
    assert.is(bash('touch /tmp/x', ctx(mode)), `touch in '/tmp/x' was blocked. For security, Claude Code may only create or modify files in the ${where}`, mode);
  }
  for (const mode of ['default', 'dontAsk', 'plan']) {
    assert.is(bash('echo hello > a.txt', ctx(mode)), `Output redirection to '/w/repo/a.txt' was blocked. For security, Claude Code may only write to files in the ${where}`);
    assert.is(bash('mkdir d1', ctx(mode)), `mkdir in '/w/repo/d1' was blocked. For security, Claude Code may only create directories in the ${where}`);
    assert.is(bash('cp README.md c.md', ctx(mode)), `cp in '/w/repo/README.md' was blocked. For security, Claude Code may only copy files to/from the ${where}`);
    assert.is(bash('sed -i s/a/b/ README.md', ctx(mode)), `sed in '/w/repo/README.md' was blocked. For security, Claude Code may only edit files in the ${where}`);
    assert.is(checkPermission('Write', { file_path: '/w/repo/w.txt' }, ctx(mode)), "Claude requested permissions to write to /w/repo/w.txt, but you haven't granted it yet.");
  }
  for (const ok of ['echo hello > a.txt', 'touch t.txt', 'mkdir d1', 'cp README.md c.md', 'mv c.md m.md', 'rm m.md', 'sed -i s/a/b/ README.md', 'printf x > p.txt']) assert.is(bash(ok, ctx('acceptEdits')), null, ok);
  assert.is(checkPermission('Edit', { file_path: '/w/repo/a' }, ctx('acceptEdits')), null);
  const rules = ctx('acceptEdits', ['Bash(git *)', 'Bash(npm test *)'], ['Bash(touch *)', 'Bash(git push *)']);
  for (const ok of ['git add -A', 'echo a; git add -A', 'npm test', 'npm test -- --x']) assert.is(bash(ok, rules), null, ok);
  assert.is(bash('npm testing', rules), 'This command requires approval');
  assert.is(bash('git push origin main', rules), 'Permission to use Bash with command git push origin main has been denied.');
  assert.is(bash('touch y.txt', rules), 'Permission to use Bash with command touch y.txt has been denied.');
  assert.is(bash('git add -A && touch z.txt', rules), 'Permission to use Bash with command git add -A && touch z.txt has been denied.');
  assert.is(bash('ls && git add -A', ctx('default')), 'This Bash command contains multiple operations. The following part requires approval: git add -A');
  assert.is(bash('git add -A && node -e 1', ctx('default')), 'This Bash command contains multiple operations. The following parts require approval: git add -A, node -e 1');
  assert.is(bash('anything > /tmp/x', ctx('bypassPermissions')), null);
});

test('a tool named in --disallowedTools does not exist for the session', async () => {
  const { repo, env } = await setup([{ steps: [{ write: { path: 'w.txt', content: 'w' } }] }]);
  const r = await fake([...streamArgs, '--permission-mode', 'acceptEdits', '--disallowedTools=Write,NotebookEdit'], { cwd: repo, env, input: userLine('go') });
  const got = events(r.stdout);
  assert.not.ok((got[0]!.tools as string[]).includes('Write'));
  const block = ((got[2]!.message as Json).content as Json[])[0]!;
  assert.is(block.content, '<tool_use_error>Error: No such tool available: Write. Write exists but is not enabled in this context. Use one of the available tools instead.</tool_use_error>');
  assert.equal(resultOf(r.stdout).permission_denials, []);
  assert.is(existsSync(join(repo, 'w.txt')), false);
});

test('Glob and Grep are offered only when an --allowedTools rule names one of them (then both)', async () => {
  const { repo, env } = await setup(null);
  const toolsWith = async (...args: string[]) => events((await fake([...streamArgs, ...args], { cwd: repo, env, input: userLine('x') })).stdout)[0]!.tools as string[];
  const plain = await toolsWith('--allowedTools=Bash(git *),Read,Edit,Write');
  assert.not.ok(plain.includes('Glob') || plain.includes('Grep'));
  for (const rule of ['--allowedTools=Glob', '--allowedTools=Bash,Grep']) {
    const tools = await toolsWith(rule);
    assert.equal(tools.slice(tools.indexOf('ExitWorktree'), tools.indexOf('NotebookEdit') + 1), ['ExitWorktree', 'Glob', 'Grep', 'NotebookEdit'], rule);
  }
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

test("sigtermDuringTool 'finish-turn': SIGTERM kills the running Bash tool (Exit code 137), the turn ends with its result, exit 0", async () => {
  const { repo, env } = await setup([{ steps: [{ bash: 'sleep 300 & echo $! > sleep.pid; wait' }, { text: 'finished anyway' }], sigtermDuringTool: 'finish-turn' }]);
  const f = startFake([...streamArgs, '--allowedTools=Bash'], repo, env);
  f.child.stdin.write(userLine('go'));
  const pidFile = join(repo, 'sleep.pid');
  while (!existsSync(pidFile) || !readFileSync(pidFile, 'utf8').trim()) await new Promise((r) => setTimeout(r, 20));
  f.child.kill('SIGTERM');
  assert.is(await f.exit, 0);
  assert.is(processStartTime(Number(readFileSync(pidFile, 'utf8'))), null, 'the command is killed with everything it started');
  const toolResult = events(f.stdout()).find((e) => e.type === 'user' && JSON.stringify(e).includes('tool_result'));
  assert.match(JSON.stringify(toolResult), /Exit code 137/);
  assert.is(resultOf(f.stdout()).result, 'finished anyway');
  assert.is(readFakeLog(env)[0]!.exitCode, 0);

  // while no tool runs (the CLI waits for the model), the same run still ends at once with 143
  const waiting = await setup([{ steps: [{ text: 'thinking hard' }], hang: 'before-result', sigtermDuringTool: 'finish-turn' }]);
  const g = startFake(streamArgs, waiting.repo, waiting.env);
  g.child.stdin.write(userLine('go'));
  await g.waitFor('thinking hard');
  g.child.kill('SIGTERM');
  assert.is(await g.exit, 143);
  assert.not.match(g.stdout(), /"type":"result"/);
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
