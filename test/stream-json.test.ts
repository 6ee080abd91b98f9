// stream-json — the parser against every captured sample of the real CLI, fed whole and
// in small chunks, plus the tolerance rules (junk, unknown events, huge lines).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineSplitter, emptySummary, foldLine, isSuccess, parseStreamLine, summarizeStream, type SessionSummary } from '../scripts/lib/session/stream-json.js';
import { toolCallSummary, renderEvent } from '../scripts/lib/session/render.js';
import { claudeEvents, newClaudeParseState } from '../scripts/lib/clis/claude.js';
import type { StreamEvent } from '../scripts/lib/session/stream-json.js';
import { cliSamplesDir } from './helpers/fake-claude.js';

/** What the live view shows for one stream-json event of Claude Code (through its adapter). */
const shown = (e: StreamEvent, cwd: string): string[] => claudeEvents(e, newClaudeParseState()).flatMap((c) => renderEvent(c, cwd));

interface Expected {
  sessionId: string;
  success: boolean;
  subtype: string;
  text?: string;
  errors: string[];
  costUsd: number;
  turns: number;
  inits: number;
  lastText?: string;
  denials?: string[];
  apiErrorStatus?: number;
}

const expected: Record<string, Expected> = {
  'tool-use-success.jsonl': { sessionId: 'e8f23fc8-5786-40cc-ba03-5c30b095d035', success: true, subtype: 'success', text: 'DONE. last=', errors: [], costUsd: 0.00168, turns: 3, inits: 1, lastText: 'DONE. last=' },
  'resume-same-cwd.jsonl': { sessionId: 'e8f23fc8-5786-40cc-ba03-5c30b095d035', success: true, subtype: 'success', text: 'DONE. last=second prompt', errors: [], costUsd: 0.0005600000000000001, turns: 1, inits: 1, lastText: 'DONE. last=second prompt' },
  'resume-wrong-cwd.jsonl': { sessionId: 'e8f23fc8-5786-40cc-ba03-5c30b095d035', success: false, subtype: 'error_during_execution', errors: ['No conversation found with session ID: e8f23fc8-5786-40cc-ba03-5c30b095d035'], costUsd: 0, turns: 0, inits: 0 },
  'error-max-turns.jsonl': { sessionId: 'e16d965c-14b7-4520-b080-4d1c28b828b4', success: false, subtype: 'error_max_turns', errors: ['Reached maximum number of turns (1)'], costUsd: 0.0005600000000000001, turns: 2, inits: 1, lastText: 'Running step 1.' },
  'api-error-400.jsonl': { sessionId: 'b44ddbfc-6585-4d3c-b383-076d4946bde5', success: false, subtype: 'success', text: 'API Error: 400 mock error 400', errors: [], costUsd: 0, turns: 1, inits: 1, apiErrorStatus: 400 },
  'permission-denied.jsonl': { sessionId: 'fec6aaa7-ef75-40de-944b-be7a2c0ac355', success: true, subtype: 'success', text: 'DONE. last=', errors: [], costUsd: 0.0011200000000000001, turns: 2, inits: 1, denials: ['Bash'] },
};

const samples = readdirSync(cliSamplesDir()).filter((f) => f.endsWith('.jsonl'));

function check(name: string, s: SessionSummary): void {
  const want = expected[name]!;
  const r = s.lastResult;
  assert.ok(r, `${name}: a result`);
  assert.is(s.sessionId, want.sessionId, `${name}: session id`);
  assert.is(isSuccess(r), want.success, `${name}: success`);
  assert.is(r.subtype, want.subtype, `${name}: subtype`);
  assert.is(r.text, want.text, `${name}: final text`);
  assert.equal(r.errors, want.errors, `${name}: errors`);
  assert.is(r.costUsd, want.costUsd, `${name}: cost`);
  assert.is(s.turns, want.turns, `${name}: turns`);
  assert.is(s.inits, want.inits, `${name}: inits`);
  assert.is(s.junkLines, 0, `${name}: no junk`);
  if (want.lastText !== undefined) assert.is(s.lastText, want.lastText, `${name}: last text`);
  if (want.denials) assert.equal(r.permissionDenials, want.denials, `${name}: denials`);
  if (want.apiErrorStatus !== undefined) assert.is(r.apiErrorStatus, want.apiErrorStatus, `${name}: api status`);
}

test('every captured sample has an expectation here (a new sample must be added to this table)', () => {
  assert.ok(samples.length >= 6, `found ${samples.length} samples in ${cliSamplesDir()}`);
  for (const name of samples) assert.ok(expected[name], `no expectation for sample ${name}`);
});

test('each sample yields its session id, final text or errors, and cost', () => {
  for (const name of samples) check(name, summarizeStream(readFileSync(join(cliSamplesDir(), name), 'utf8')));
});

test('each sample gives the same answer when it arrives in 7-byte and 1-byte chunks', () => {
  for (const name of samples) {
    const bytes = readFileSync(join(cliSamplesDir(), name));
    for (const size of [7, 1]) {
      const splitter = new LineSplitter();
      const s = emptySummary();
      for (let i = 0; i < bytes.length; i += size) for (const line of splitter.push(bytes.subarray(i, i + size))) foldLine(s, parseStreamLine(line));
      for (const line of splitter.end()) foldLine(s, parseStreamLine(line));
      check(name, s);
    }
  }
});

test('a multi-byte character split across chunks survives', () => {
  const line = Buffer.from('{"type":"assistant","message":{"content":[{"type":"text","text":"ünï ✓"}]}}\n');
  const splitter = new LineSplitter();
  const cut = line.indexOf(Buffer.from('✓')) + 1; // inside the 3-byte character
  const lines = [...splitter.push(line.subarray(0, cut)), ...splitter.push(line.subarray(cut))];
  const p = parseStreamLine(lines[0]!);
  assert.ok(p.ok && p.event.kind === 'assistant');
  assert.equal(p.ok && p.event.kind === 'assistant' ? p.event.blocks : null, [{ type: 'text', text: 'ünï ✓' }]);
});

test('lines that are not JSON, JSON that is not an event, and unknown events are tolerated', () => {
  const text = [
    'Warning: something on stdout',
    '[1,2,3]',
    '{"no_type":true}',
    '{"type":"rate_limit_event","rate_limit_info":{"status":"allowed"},"session_id":"s","uuid":"u"}',
    '{"type":"system","subtype":"api_retry","attempt":1}',
    '{"type":"system","subtype":"init","session_id":"abc","brand_new_field":{"x":1}}',
    '{"type":"assistant","message":{"id":"m","content":[{"type":"server_tool_use","id":"x"},{"type":"text","text":"hi"}]}}',
    '{"type":"result","subtype":"error_something_new","is_error":true,"session_id":"abc","errors":["boom"]}',
    '{"type":"result","subtype":"success"', // truncated line
    '',
  ].join('\n');
  const s = summarizeStream(text);
  assert.is(s.sessionId, 'abc');
  assert.is(s.lastText, 'hi');
  assert.is(s.junkLines, 4); // the warning, the array, the object without type, the torn line
  assert.is(s.lastResult?.subtype, 'error_something_new');
  assert.equal(s.lastResult?.errors, ['boom']);
  assert.is(isSuccess(s.lastResult!), false);
  const other = parseStreamLine('{"type":"rate_limit_event"}');
  assert.equal(other.ok && other.event, { kind: 'other', type: 'rate_limit_event' });
});

test('success with is_error true is not a success', () => {
  const p = parseStreamLine('{"type":"result","subtype":"success","is_error":true,"session_id":"s","result":"Not logged in · Please run /login"}');
  assert.ok(p.ok && p.event.kind === 'result');
  if (p.ok && p.event.kind === 'result') assert.is(isSuccess(p.event.result), false);
});

test('the splitter holds only the unfinished line, and drops a line longer than its limit', () => {
  const splitter = new LineSplitter(1000);
  const chunk = Buffer.from(`${'{"type":"x"}\n'.repeat(500)}{"type":"par`);
  for (let i = 0; i < 100; i++) splitter.push(chunk.subarray(0, chunk.length - 12)); // whole lines only
  assert.is(splitter.buffered, 0);
  assert.is(splitter.push(Buffer.from('{"type":"par')).length, 0);
  assert.is(splitter.buffered, 12);
  assert.equal(splitter.push(Buffer.from('tial"}\n')), ['{"type":"partial"}']);
  for (let i = 0; i < 50; i++) splitter.push(Buffer.alloc(100, 0x61)); // 5000 bytes, no newline
  assert.ok(splitter.buffered <= 1000, `held ${splitter.buffered} bytes`);
  assert.equal(splitter.push(Buffer.from('\n{"type":"after"}\n')), ['{"type":"after"}']);
  assert.is(splitter.stats.oversized, 1);
  assert.equal(splitter.push(Buffer.from('last')), []);
  assert.equal(splitter.end(), ['last']);
});

test('the live view names each tool call by its key input', () => {
  const cwd = '/w/repo';
  assert.is(toolCallSummary('Bash', { command: 'npm test', description: 'run tests' }, cwd), 'Bash: npm test');
  assert.is(toolCallSummary('Edit', { file_path: '/w/repo/src/a.ts', old_string: 'x' }, cwd), 'Edit: src/a.ts');
  assert.is(toolCallSummary('Read', { file_path: '/elsewhere/b.ts' }, cwd), 'Read: /elsewhere/b.ts');
  assert.is(toolCallSummary('Grep', { pattern: 'TODO', path: 'src' }, cwd), 'Grep: TODO');
  assert.is(toolCallSummary('Bash', { command: 'line one\nline two' }, cwd), 'Bash: line one …');
  assert.is(toolCallSummary('mcp__srv__do', { thing: 'x' }, cwd), 'mcp__srv__do: x');
  const lines = shown({ kind: 'assistant', blocks: [{ type: 'text', text: 'Working.' }, { type: 'tool_use', id: 't', name: 'Write', input: { file_path: '/w/repo/a.txt' } }], subagent: false }, cwd);
  assert.equal(lines, ['  Working.', '  ▸ Write: a.txt']);
  assert.equal(shown({ kind: 'tool-results', results: [{ toolUseId: 't', isError: true, text: 'This command requires approval' }], subagent: false }, cwd), ['    ✗ This command requires approval']);
});

test('the live view never passes a control character of the agent\'s text to the terminal', () => {
  const cwd = '/w/repo';
  const text = 'clear\x1b[2J screen\r\nbell\x07\tand tab\ncsi\u009b31m right\u202eleft';
  const lines = shown({ kind: 'assistant', blocks: [{ type: 'text', text }, { type: 'tool_use', id: 't', name: 'Bash', input: { command: 'echo \x1b]0;title\x07' } }], subagent: false }, cwd);
  assert.equal(lines, ['  clear\\u001b[2J screen', '  bell\\u0007  and tab', '  csi\\u009b31m right\\u202eleft', '  ▸ Bash: echo \\u001b]0;title\\u0007']);
  for (const line of lines) assert.not.match(line, /[\x00-\x1f\x7f-\x9f]/);
  assert.equal(shown({ kind: 'tool-results', results: [{ toolUseId: 't', isError: true, text: 'no\x1b[31m' }], subagent: false }, cwd), ['    ✗ no\\u001b[31m']);
});

test.run();
