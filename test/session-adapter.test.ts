// session-adapter — the session runner works only through a CLI's adapter: a tiny test
// adapter, registered under the name `codex` for these tests, drives a shell script in a
// made-up line format. The runner takes the binary from COVEN_CODEX, the command line,
// stdin and env from the adapter, closes stdin after the first write (no steering),
// judges by the parser's events (the result comes from end(), the exit code is 3), prices
// tokens with COVEN_PRICE_CODEX, and stops at once on a refusal.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliAdapter, CliEvent, TokenCounts } from '../scripts/lib/clis/adapter.js';
import { adapterFor, setAdapterForTest } from '../scripts/lib/clis/index.js';
import { runSession, startSession, type SessionOptions, type SessionOutcome } from '../scripts/lib/session/runner.js';
import { locateAgentCli } from '../scripts/lib/session/agent-cli.js';
import { runAgentSession } from '../scripts/lib/agents/agent-job.js';
import { tempDir, tempRepo } from './helpers/repo.js';

/** `SID <id>`, `SAY <text>`, `PART <delta>`, `TOOL <what>`, `FAIL <what>`, `TOKENS <in> <out>`, `NOPE <words>`; the result at exit. */
function testParser(): ReturnType<CliAdapter['parser']> {
  let tokens: TokenCounts | undefined;
  let said = '';
  return {
    line(line): CliEvent[] {
      const [word, ...rest] = line.split(' ');
      const arg = rest.join(' ');
      if (word === 'SID') return [{ kind: 'session', sessionId: arg }];
      if (word === 'SAY') return [{ kind: 'text', text: (said = arg) }];
      if (word === 'PART') {
        said += arg;
        return [{ kind: 'text', text: arg, delta: true }];
      }
      if (word === 'TOOL') return [{ kind: 'tool', summary: arg }];
      if (word === 'FAIL') return [{ kind: 'tool-failed', summary: arg }];
      if (word === 'TOKENS') tokens = { input: Number(rest[0]), output: Number(rest[1]), cachedInput: 0 };
      if (word === 'NOPE') return [{ kind: 'refused', refusal: { reason: 'quota', message: arg } }];
      return [];
    },
    stderr: (line) => (line.startsWith('WARN') ? [{ kind: 'notice', text: line }] : []),
    end: (exit) => [{ kind: 'result', ok: said !== '', subtype: said ? 'success' : `exit ${exit.code}`, errors: [], ...(tokens ? { tokens } : {}) }],
  };
}

const testAdapter: CliAdapter = {
  name: 'codex',
  label: 'Test CLI',
  envVar: 'COVEN_CODEX',
  defaultCommand: 'test-cli-not-on-path',
  install: 'npm install -g test-cli',
  argsKey: 'codex_args',
  steering: false,
  costInDollars: false,
  limits: ['no steering'],
  command: (run) => ({ args: ['exec', '--json', ...run.args, ...(run.resume ? ['resume', run.resume] : [])], stdin: `${run.systemText ? `${run.systemText}\n\n` : ''}${run.prompt}\n`, keepStdinOpen: true, env: { TEST_CLI_CWD: run.cwd } }),
  parser: testParser,
};

/** The script: reads all of stdin (so it ends only if the runner closes it), then prints what it is told. */
function script(dir: string, body: string): string {
  const path = join(dir, 'test-cli');
  writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/argv"\necho "$TEST_CLI_CWD" > "${dir}/cwd"\ninput=$(cat)\necho "$$" > "${dir}/pid"\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

async function setup(body: string): Promise<{ dir: string; lines: string[]; opts: (more?: Partial<SessionOptions>) => SessionOptions }> {
  const repo = await tempRepo();
  const dir = tempDir('coven-test-cli-');
  const bin = script(dir, body);
  const lines: string[] = [];
  return { dir, lines, opts: (more = {}) => ({ cwd: repo, cli: 'codex', prompt: 'do the task', env: { ...process.env, COVEN_CODEX: bin, COVEN_PRICE_CODEX: '' }, display: (l) => lines.push(l), lingerMs: 500, killGraceMs: 1000, ...more }) };
}

let before: CliAdapter | undefined;
test.before(() => {
  before = setAdapterForTest('codex', testAdapter);
});
test.after(() => {
  setAdapterForTest('codex', before ?? null);
});

function kind<K extends SessionOutcome['kind']>(o: SessionOutcome, k: K): Extract<SessionOutcome, { kind: K }> {
  assert.is(o.kind, k, JSON.stringify(o));
  return o as Extract<SessionOutcome, { kind: K }>;
}

test('the runner starts what the adapter says, closes stdin of a CLI with no steering, and judges by the events (exit 3)', async () => {
  const s = await setup('echo "SID t-1"; echo "TOOL Edit: $(pwd)/src/a.ts"; echo "FAIL no such file"; echo "PART hel"; echo "PART lo $(echo "$input" | head -n 1)"; echo "TOKENS 10000 2345"; echo "WARN slow" >&2; exit 3');
  const handle = startSession(s.opts({ cliArgs: ['--model', 'm'], extraArgs: ['-x'], systemText: 'protocol', resume: 'old-1' }));
  assert.is(handle.send('more'), false, 'no steering');
  const o = kind(await handle.outcome, 'success');
  assert.is(o.sessionId, 't-1');
  assert.is(o.text, 'hello protocol', 'the deltas joined; the system text at the head of stdin');
  assert.equal(o.tokens, { input: 10000, output: 2345, cachedInput: 0 });
  assert.is(o.costUsd, 0);
  assert.equal(readFileSync(join(s.dir, 'argv'), 'utf8').trim().split('\n'), ['exec', '--json', '--model', 'm', '-x', 'resume', 'old-1']);
  assert.ok(readFileSync(join(s.dir, 'cwd'), 'utf8').trim().length > 0, "the adapter's env reached the CLI");
  assert.ok(s.lines.includes('  ▸ Edit: src/a.ts'), s.lines.join('\n'));
  assert.ok(s.lines.includes('    ✗ no such file'), s.lines.join('\n'));
  assert.ok(s.lines.includes('  WARN slow'), s.lines.join('\n'));
  assert.ok(s.lines.includes('  hello protocol'), s.lines.join('\n'));
  assert.match(s.lines.at(-1)!, /^ {2}✓ done · 12\.3k tokens · (\d+ms|\d+s)$/, 'no price: the tokens are shown; no turns part when the CLI counts none');
  assert.not.match(s.lines.at(-1)!, / 0ms$/, 'a CLI that reports no duration is timed from spawn to exit');
  assert.ok(o.kind === 'success' && o.durationMs > 0, 'the outcome carries the wall-clock time');
});

test('COVEN_PRICE_<CLI> prices the tokens; a bad one is named and the cost is 0', async () => {
  const s = await setup('echo "SID t-2"; echo "SAY ok"; echo "TOKENS 1000000 100000"');
  const priced = kind(await runSession(s.opts({ env: { ...s.opts().env, COVEN_PRICE_CODEX: '1.25,10' } })), 'success');
  assert.ok(Math.abs(priced.costUsd - 2.25) < 1e-9, String(priced.costUsd));
  assert.match(s.lines.at(-1)!, /✓ done · \$2\.2500 · /);
  const bad = kind(await runSession(s.opts({ env: { ...s.opts().env, COVEN_PRICE_CODEX: 'cheap' } })), 'success');
  assert.is(bad.costUsd, 0);
  assert.ok(s.lines.some((l) => /COVEN_PRICE_CODEX="cheap" is not "<input \$ per Mtok>,<output \$ per Mtok>"/.test(l)), s.lines.join('\n'));
});

test('a failure the events say (no text) is an agent error even with exit 0', async () => {
  const s = await setup('echo "SID t-3"; exit 0');
  const o = kind(await runSession(s.opts()), 'agent-error');
  assert.is(o.subtype, 'exit 0');
});

test('a refusal from the parser stops the session at once: outcome refused', async () => {
  const s = await setup('echo "SID t-4"; echo "NOPE out of credits"; sleep 30; echo "SAY late"');
  const started = Date.now();
  const o = kind(await runSession(s.opts({ timeoutMs: 60_000 })), 'refused');
  assert.ok(Date.now() - started < 8_000, `${Date.now() - started} ms`);
  assert.equal(o.refusal, { reason: 'quota', message: 'out of credits' });
  assert.is(o.sessionId, 't-4');
  assert.match(s.lines.at(-1)!, /^ {2}✗ the vendor refused \(quota\): out of credits$/);
});

test('the binary: the adapter\'s env var, else its command on PATH; a missing one names the CLI and its install', async () => {
  const s = await setup('echo "SAY x"');
  const env = s.opts().env!;
  assert.equal(locateAgentCli(env, '/', 'codex'), { kind: 'found', path: env.COVEN_CODEX! });
  const missing = locateAgentCli({ PATH: '/nonexistent' }, '/', 'codex');
  assert.is(missing.kind, 'cli-not-found');
  if (missing.kind === 'cli-not-found') assert.match(missing.message, /'test-cli-not-on-path' was not found on PATH\. Install Test CLI \(npm install -g test-cli\) or set COVEN_CODEX/);
  const o = kind(await runSession(s.opts({ env: { PATH: '/nonexistent' } })), 'cli-not-found');
  assert.match(o.message, /Install Test CLI/);
});

test('a CLI with no adapter: cli-not-found that says so, nothing started', async () => {
  const was = setAdapterForTest('gemini', null);
  try {
    assert.is(adapterFor('gemini').kind, 'not-available');
    const s = await setup('echo "SAY x"');
    const o = kind(await runSession(s.opts({ cli: 'gemini' })), 'cli-not-found');
    assert.match(o.message, /no adapter for the CLI 'gemini'/);
    assert.is(locateAgentCli(process.env, '/', 'gemini').kind, 'cli-not-found');
  } finally {
    if (was) setAdapterForTest('gemini', was);
  }
});

test('an agent session on another CLI: runAgentSession passes the CLI and its arguments to the runner', async () => {
  const s = await setup('echo "SID t-5"; echo "SAY done"');
  const o = s.opts();
  const outcome = kind(await runAgentSession({ cwd: o.cwd, agentName: 'implement', prompt: 'go', cli: 'codex', cliArgs: ['--model', 'm'], stateDir: tempDir('coven-state-'), worker: 'w1', env: o.env, display: o.display }), 'success');
  assert.is(outcome.sessionId, 't-5');
  assert.equal(readFileSync(join(s.dir, 'argv'), 'utf8').trim().split('\n'), ['exec', '--json', '--model', 'm']);
});

test.run();
