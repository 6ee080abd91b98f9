// real-cli-codex-parity — the real Codex CLI (pinned, against the scripted mock Responses
// API) and the fake (fakes/codex.ts) given the same session print the same events: the
// same types and fields in the same order, the same tool results, the same running usage;
// the same words for a refusal, a failed resume and a usage error. This is what keeps the
// fake faithful.
//
//   env:  COVEN_REAL_CLI=1 (npm run test:real-cli) with COVEN_CODEX_BIN, else skipped (real-cli/gate.ts)
//         PARITY_DEBUG=<file>: append both sides of every compared session to <file> (JSON lines)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync } from 'node:fs';
import { CODEX_FLAGS } from '../scripts/lib/clis/codex.js';
import type { FakeRun } from '../fakes/claude.js';
import { fakeCodexBin, fakeCodexEnv } from './helpers/fake-codex.js';
import { sh, tempDir, tempRepo } from './helpers/repo.js';
import { realCli, realCliTests } from './real-cli/gate.js';
import { authError, conversation, exec, quotaError, rateLimitError, say, startMockResponsesApi, text, type Play } from './real-cli/mock-responses-api.js';
import { codexEnv, runCodex, type CodexRun } from './real-cli/run-codex.js';

const cli = await realCli('codex', 'compare the fake with the real Codex CLI');
const realTest = realCliTests('real-cli-codex-parity', cli);

type Json = Record<string, unknown>;
const events = (stdout: string): Json[] => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json);
const shape = (e: Json): string => {
  const item = e.item as Json | undefined;
  const usage = e.usage as Json | undefined;
  return `${String(e.type)}${item ? `/${String(item.type)}` : ''}: ${Object.keys(e).join(',')}${item ? ` item: ${Object.keys(item).join(',')}` : ''}${usage ? ` usage: ${Object.keys(usage).join(',')}` : ''}`;
};
/** What the two sides must share: ids, request ids, ports and the API's own words for a status left out. */
const normalize = (e: Json): Json => {
  const words = (m: unknown): unknown =>
    typeof m === 'string'
      ? m
          .replace(/request id: \w+/g, 'request id: R')
          .replace(/url: [^,]+,/g, 'url: U,')
          .replace(/(unexpected status \d{3} [A-Za-z ]+): [^,]*(, url)/, '$1: …$2')
      : m;
  const item = e.item as Json | undefined;
  const out: Json = { ...e, ...(e.thread_id ? { thread_id: 'T' } : {}), ...(e.message ? { message: words(e.message) } : {}) };
  if (e.error) out.error = { message: words((e.error as Json).message) };
  if (item) out.item = { ...item, ...(item.message ? { message: words(item.message) } : {}) };
  return out;
};
/** stderr without the lines that depend on the machine: the /tmp warning, stdin notes, a backtrace (RUST_BACKTRACE) */
const stderrLines = (s: string): string[] => s.split('\n').filter((l) => l && !/PATH aliases|Refusing to create helper|Reading (additional input|prompt) from stdin|^Stack backtrace:|^\s+\d+: /.test(l));

/** Both sides of one session: the real CLI against `plays`, the fake with `script`, each in a fresh repository. */
async function bothSides(bin: string, plays: Play[], script: FakeRun[], args: (side: 'real' | 'fake', prior: CodexRun | null) => string[], runs = 1): Promise<{ real: CodexRun[]; fake: CodexRun[]; repos: { real: string; fake: string } }> {
  const api = await startMockResponsesApi(conversation(plays));
  const repos = { real: await tempRepo('real'), fake: await tempRepo('fake') };
  const realEnv = codexEnv(api.baseUrl, tempDir('coven-codex-home-'));
  const fakeEnv = { ...process.env, ...fakeCodexEnv(script), FAKE_CODEX_RETRY_MS: '0', MOCK_OPENAI_KEY: 'k' };
  const out = { real: [] as CodexRun[], fake: [] as CodexRun[], repos };
  try {
    for (let i = 0; i < runs; i++) {
      out.real.push(await runCodex(bin, args('real', out.real[i - 1] ?? null), { cwd: repos.real, env: realEnv, timeoutMs: 60_000 }));
      out.fake.push(await runCodex(fakeCodexBin, args('fake', out.fake[i - 1] ?? null), { cwd: repos.fake, env: fakeEnv, timeoutMs: 60_000 }));
    }
  } finally {
    await api.close();
  }
  return out;
}

const start = (prompt: string): string[] => ['exec', ...CODEX_FLAGS, '-m', 'mock-model', '--', prompt];
const threadOf = (r: CodexRun | null): string => String(events(r?.stdout ?? '')[0]?.thread_id ?? 'none');

function assertSameEvents(real: CodexRun, fake: CodexRun, what: string): void {
  assert.equal([fake.code, fake.signal], [real.code, real.signal], `${what}: exit\nreal stderr: ${real.stderr}\nfake stderr: ${fake.stderr}`);
  assert.equal(events(fake.stdout).map(shape), events(real.stdout).map(shape), `${what}: event shapes`);
  if (process.env.PARITY_DEBUG) appendFileSync(process.env.PARITY_DEBUG, `${JSON.stringify({ what, real: events(real.stdout).map(normalize), fake: events(fake.stdout).map(normalize) })}\n`);
  assert.equal(events(fake.stdout).map(normalize), events(real.stdout).map(normalize), `${what}: events`);
}

realTest('a turn with text, a failed shell call and a commit: the same events, results and usage, and the same commit', async () => {
  const cmd = "printf 'a\\n' > a.txt && git add -A && git commit -q -m 'add a'";
  const plays: Play[] = [{ when: 'commit a.txt', replies: [say(text('Looking.'), exec('ls missing-dir')), say(exec(cmd)), say(text('FINAL: committed a.txt'))] }];
  const script: FakeRun[] = [{ steps: [{ text: 'Looking.' }, { bash: 'ls missing-dir' }, { bash: cmd }], result: { text: 'FINAL: committed a.txt' } }];
  const { real, fake, repos } = await bothSides(cli.kind === 'run' ? cli.bin : '', plays, script, () => start('commit a.txt'));
  assertSameEvents(real[0]!, fake[0]!, 'start');
  for (const repo of [repos.real, repos.fake]) assert.equal(await sh(repo, 'log', '-1', '--format=%s'), 'add a');
});

realTest('a resume by thread id: the same thread, the same events, usage as the running total', async () => {
  const plays: Play[] = [
    { when: 'first', replies: [say(exec('echo hi > x.txt')), say(text('FINAL1'))] },
    { when: 'second', replies: [say(text('FINAL2: I remember x.txt.'))] },
  ];
  const script: FakeRun[] = [
    { match: { resume: false }, steps: [{ bash: 'echo hi > x.txt' }], result: { text: 'FINAL1' } },
    { match: { resume: true }, result: { text: 'FINAL2: I remember x.txt.' } },
  ];
  const args = (_: string, prior: CodexRun | null): string[] => (prior ? ['exec', 'resume', ...CODEX_FLAGS, '-m', 'mock-model', '--', threadOf(prior), 'second'] : start('first'));
  const { real, fake } = await bothSides(cli.kind === 'run' ? cli.bin : '', plays, script, args, 2);
  assertSameEvents(real[1]!, fake[1]!, 'resume');
  for (const side of [real, fake]) assert.equal(threadOf(side[1]!), threadOf(side[0]!));
});

realTest('refusals: a quota at once; a 401 and a 429 after the same five retries', async () => {
  const cases = [
    ['quota', quotaError()],
    ['auth', authError()],
    ['rate-limit', rateLimitError(0)],
  ] as const;
  for (const [reason, reply] of cases) {
    const { real, fake } = await bothSides(cli.kind === 'run' ? cli.bin : '', [{ when: 'hello', replies: [reply] }], [{ refuse: { reason } }], () => start('hello'));
    assertSameEvents(real[0]!, fake[0]!, reason);
  }
});

realTest('a resume of an unknown thread and a flag Codex does not know: the same words on stderr, the same exit, nothing on stdout', async () => {
  const unknown = '01a24c70-0000-7411-906b-6c8a1eb55733';
  const cases: [string, string[]][] = [
    ['unknown thread', ['exec', 'resume', ...CODEX_FLAGS, '--', unknown, 'again']],
    ['--full-auto', ['exec', '--json', '--full-auto', 'hi']],
    ['-C on a resume', ['exec', 'resume', '--json', '-C', '/tmp', unknown, 'hi']],
  ];
  for (const [what, args] of cases) {
    const { real, fake } = await bothSides(cli.kind === 'run' ? cli.bin : '', [], [], () => args);
    assert.equal([fake[0]!.code, fake[0]!.stdout], [real[0]!.code, real[0]!.stdout], what);
    assert.equal(stderrLines(fake[0]!.stderr), stderrLines(real[0]!.stderr), what);
  }
});

test.run();
