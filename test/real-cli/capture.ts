// capture — runs the real Claude Code CLI through a few scripted sessions against the
// mock Messages API and prints what it emitted: the order of event kinds, and how each
// kind's keys differ from the reference samples. Used to check the reference and the
// fake claude (fakes/claude.ts) against the real thing.
//
//   run:    npm run build && node dist/test/real-cli/capture.js [--out DIR] [--samples DIR] [scenario…]
//   args:   --out DIR      also write each scenario's stdout as DIR/<scenario>.jsonl, and
//                          DIR/requests.json (every request the mock received)
//           --samples DIR  the reference samples (default: test/fixtures/claude-cli-samples)
//           scenario…      only these (default: all): tool-use-success resume-same-cwd
//                          resume-wrong-cwd commit api-error-400 error-max-turns
//                          edit-tools partial-messages permission-denied
//   env:    COVEN_CLI_CACHE, COVEN_CLAUDE_CACHE (see install-cli.ts); COVEN_KEEP_TEST_DIRS=1 keeps
//           the temp repos and config dir
//   exit:   0 captured (differences are printed, not judged) · 2 CLI unavailable · 1 error

import minimist from 'minimist';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isEntry } from '../../scripts/lib/ui/entry.js';
import { cliSamplesDir } from '../helpers/fake-claude.js';
import { sh, tempDir, tempRepo } from '../helpers/repo.js';
import { diffShapes, kindSequence, shapesOf } from './event-shape.js';
import { installCli } from './install-cli.js';
import { apiError, bash, conversation, say, startMockMessagesApi, text, type Play } from './mock-messages-api.js';
import { claudeEnv, runClaude, transcriptPath, type ClaudeRun, type StreamEvent } from './run-claude.js';

/** The plays every scenario's prompt is routed to (the prompt names its scenario). */
export const capturePlays: Play[] = [
  {
    when: 'scenario: tool-use-success',
    replies: [
      say(text('Running step 1.'), bash('echo hello > a.txt', 'step 1')),
      say(text('Running step 2.'), bash('cat a.txt', 'step 2')),
      say(text('DONE. last=')),
    ],
  },
  {
    when: 'scenario: commit',
    replies: [
      say(text('Writing and committing.'), bash('echo hello > a.txt && git add -A && git commit -q -m "add a.txt" && git log --oneline -1', 'commit a.txt')),
      say(text('Committed a.txt.')),
    ],
  },
  {
    // Write, Read and Edit as the model calls them (file_path must be absolute; Edit needs a Read first)
    when: 'scenario: edit-tools',
    replies: [
      (turn) => say(text('Writing.'), { type: 'tool_use', name: 'Write', input: { file_path: `${turn.cwd}/b.txt`, content: 'one\ntwo\n' } }),
      (turn) => say({ type: 'tool_use', name: 'Read', input: { file_path: `${turn.cwd}/b.txt` } }),
      (turn) => say({ type: 'tool_use', name: 'Edit', input: { file_path: `${turn.cwd}/b.txt`, old_string: 'two', new_string: 'three' } }),
      say(text('Edited b.txt.')),
    ],
  },
  { when: 'second prompt', replies: [say(text('DONE. last=second prompt'))] },
  { when: 'scenario: api-error-400', replies: [apiError(400, 'mock error 400')] },
  {
    when: 'scenario: error-max-turns',
    replies: [say(text('Running step 1.'), bash('echo 1', 'step 1')), say(text('never reached'))],
  },
  {
    when: 'scenario: permission-denied',
    replies: [say(text('Running step 1.'), bash(`python3 -c 'open("y.txt","w")'`, 'step 1')), say(text('DONE. last='))],
  },
];

export interface Capture {
  name: string;
  run: ClaudeRun;
}

function readJsonl(file: string): StreamEvent[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as StreamEvent);
}

export async function main(argv: string[]): Promise<number> {
  const args = minimist(argv, { string: ['out', 'samples'] });
  const only = args._.map(String);
  const install = await installCli('claude');
  if (install.kind === 'unavailable') {
    process.stderr.write(`capture: the Claude Code CLI is unavailable: ${install.reason}\n`);
    return 2;
  }
  const claude = install.bin;
  const api = await startMockMessagesApi(conversation(capturePlays));
  const home = tempDir('coven-claude-home-');
  const env = claudeEnv(api.url, home);
  const configDir = join(home, '.claude');
  const repo = await tempRepo('wt1');
  const elsewhere = await tempRepo('elsewhere');
  const captures: Capture[] = [];
  const want = (name: string): boolean => only.length === 0 || only.includes(name);
  const session = (name: string, prompt: string, extra: { cwd?: string; args?: string[]; sessionArgs?: string[] } = {}) =>
    runClaude({ claude, cwd: extra.cwd ?? repo, env, prompt, args: extra.args, sessionArgs: extra.sessionArgs, timeoutMs: 120_000 }).then((run) => {
      captures.push({ name, run });
      return run;
    });

  try {
    if (want('tool-use-success') || want('resume-same-cwd') || want('resume-wrong-cwd')) {
      const first = await session('tool-use-success', 'scenario: tool-use-success');
      const id = first.sessionId;
      if (id) {
        const transcript = transcriptPath(configDir, repo, id);
        const before = existsSync(transcript) ? readJsonl(transcript).length : 0;
        await session('resume-same-cwd', 'second prompt', { args: ['--resume', id] });
        const after = existsSync(transcript) ? readJsonl(transcript).length : 0;
        process.stdout.write(`transcript ${transcript}: ${before} lines after the first run, ${after} after the resume\n`);
        await session('resume-wrong-cwd', 'second prompt', { cwd: elsewhere, args: ['--resume', id] });
      }
    }
    if (want('commit')) {
      await session('commit', 'scenario: commit');
      process.stdout.write(`git log in the repo after "commit": ${await sh(repo, 'log', '--oneline', '-3')}\n`);
    }
    if (want('api-error-400')) await session('api-error-400', 'scenario: api-error-400');
    if (want('error-max-turns')) await session('error-max-turns', 'scenario: error-max-turns', { args: ['--max-turns', '1'] });
    if (want('edit-tools')) {
      await session('edit-tools', 'scenario: edit-tools');
      process.stdout.write(`b.txt after "edit-tools": ${JSON.stringify(readFileSync(join(repo, 'b.txt'), 'utf8'))}\n`);
    }
    if (want('partial-messages')) await session('partial-messages', 'scenario: tool-use-success', { args: ['--include-partial-messages'] });
    if (want('permission-denied')) {
      const coven = ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json', '--permission-mode', 'acceptEdits', '--allowedTools=Bash(git *),Read,Edit,Write'];
      await session('permission-denied', 'scenario: permission-denied', { sessionArgs: coven });
    }
  } finally {
    await api.close();
  }

  const samples = args.samples ? resolve(String(args.samples)) : cliSamplesDir();
  for (const { name, run } of captures) {
    process.stdout.write(`\n== ${name}: exit ${run.code}${run.signal ? ` (${run.signal})` : ''}${run.timedOut ? ' TIMED OUT' : ''}, session ${run.sessionId}\n`);
    process.stdout.write(`   ${kindSequence(run.events)}\n`);
    const inner = run.events.filter((e) => e.type === 'stream_event').map((e) => (e.event as { type?: string } | undefined)?.type);
    if (inner.length) process.stdout.write(`   stream_event types: ${inner.join(' ')}\n`);
    if (run.junk.length) process.stdout.write(`   non-JSON stdout: ${JSON.stringify(run.junk.slice(0, 5))}\n`);
    if (run.stderr.trim()) process.stdout.write(`   stderr: ${JSON.stringify(run.stderr.trim().slice(0, 500))}\n`);
    const result = run.result;
    if (result) process.stdout.write(`   result: ${JSON.stringify({ subtype: result.subtype, is_error: result.is_error, result: result.result, errors: result.errors, stop_reason: result.stop_reason, num_turns: result.num_turns })}\n`);
    const sample = samples ? join(samples, `${name}.jsonl`) : null;
    if (sample && existsSync(sample)) {
      const expected = readJsonl(sample);
      process.stdout.write(`   sample: ${kindSequence(expected)}\n`);
      const diffs = diffShapes(shapesOf(expected), shapesOf(run.events));
      if (diffs.length === 0) process.stdout.write('   same keys as the sample\n');
      for (const d of diffs) {
        const side = d.only ? ` (only in the ${d.only === 'expected' ? 'sample' : 'capture'})` : '';
        process.stdout.write(`   ${d.kind}${side}: ${d.missing.length ? `missing ${d.missing.join(',')}` : ''}${d.missing.length && d.extra.length ? '; ' : ''}${d.extra.length ? `extra ${d.extra.join(',')}` : ''}\n`);
      }
    }
  }

  const endpoints = new Map<string, number>();
  for (const r of api.requests) endpoints.set(`${r.method} ${r.path}`, (endpoints.get(`${r.method} ${r.path}`) ?? 0) + 1);
  process.stdout.write(`\nrequests the CLI made: ${[...endpoints].map(([k, n]) => `${k} ×${n}`).join(', ')}\n`);
  const side = api.requests.filter((r) => r.turn && !r.turn.isAgentLoop);
  if (side.length) process.stdout.write(`side requests (no Bash tool offered): ${side.length}, tools ${JSON.stringify(side.map((r) => r.turn?.tools))}\n`);

  if (args.out) {
    const out = resolve(String(args.out));
    mkdirSync(out, { recursive: true });
    for (const { name, run } of captures) writeFileSync(join(out, `${name}.jsonl`), run.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    writeFileSync(join(out, 'requests.json'), JSON.stringify(api.requests.map(({ turn: _turn, ...r }) => r), null, 1));
    process.stdout.write(`wrote ${captures.length} captures and requests.json to ${out}\n`);
  }
  return 0;
}

if (isEntry(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`capture: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
