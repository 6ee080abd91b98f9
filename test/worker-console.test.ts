// worker-console — the pure parts of a worker's terminal (header, title, menu answers,
// what a line or a Ctrl-C does in each mode) and the console shell with stand-in
// streams and a stand-in session: steering, the menu, held output, plain mode off a
// terminal. The real thing on a pty is in worker-terminal.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough, Writable } from 'node:stream';
import { attachConsole, menuText, parseMenuChoice, react, type ConsoleInput, type ConsoleMode, type Situation } from '../scripts/lib/ui/worker-console.js';
import type { SessionHandle, SessionOutcome } from '../scripts/lib/session/runner.js';
import { consoleUi, escapesAllowed, headerLine, titleEscape, titleText, type WorkerUi } from '../scripts/lib/ui/worker-ui.js';
import { newWorkerState, type WorkerState } from '../scripts/lib/worker/state.js';

function state(over: Partial<WorkerState> = {}): WorkerState {
  return { ...newWorkerState({ name: 'brave-otter', branch: 'coven/brave-otter', worktree: '/wt' }), ...over };
}

// ---------------------------------------------------------------------------------
// header and title

test('the header line names the worker, phase, agent and arguments, elapsed time, cost and landed commits', () => {
  const s = state({ phase: 'running', agent: 'implement', args: { issue: 'review/a.md', note: 'x' }, started: new Date(0).toISOString(), cost_usd: 0.0312, landed: 2 });
  assert.is(headerLine(s, 245_000), '── brave-otter · running implement (issue: review/a.md, note: x) · 4m05s · $0.0312 · 2 landed ──');
  assert.is(headerLine(state({ phase: 'sleeping', started: new Date(0).toISOString() }), 3_000), '── brave-otter · sleeping · 3s · $0.0000 ──');
});

test('the title is the header in short; control characters cannot end the escape early', () => {
  assert.is(titleText(state({ phase: 'running', agent: 'plan', args: { issue: 'a.md' }, cost_usd: 1.5 })), 'coven brave-otter: running plan · $1.5000');
  assert.is(titleText(state({ phase: 'sleeping' })), 'coven brave-otter: sleeping · $0.0000');
  assert.is(titleEscape('a\x07b\x1b]0;c\nd'), '\x1b]0;a b ]0;c d\x07');
});

class Capture extends Writable {
  text = '';
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

test('escapes only on a terminal that is not dumb; plain lines otherwise', () => {
  assert.is(escapesAllowed({ isTTY: true }, { TERM: 'xterm' }), true);
  assert.is(escapesAllowed({ isTTY: true }, { TERM: 'dumb' }), false);
  assert.is(escapesAllowed({ isTTY: false }, { TERM: 'xterm' }), false);
  assert.is(escapesAllowed({}, {}), false);
  const plain = new Capture(false);
  consoleUi(plain, plain).header(state({ phase: 'dispatching' }));
  assert.match(plain.text, /^── brave-otter · dispatching · \S+ · \$0\.0000 ──\n$/);
  const term = new Capture(true);
  if (process.env.TERM === 'dumb') return;
  consoleUi(term, term).header(state({ phase: 'dispatching' }));
  assert.ok(term.text.includes('\x1b]0;coven brave-otter: dispatching · $0.0000\x07'), JSON.stringify(term.text));
});

// ---------------------------------------------------------------------------------
// menu answers and reactions

test('menu answers: one letter or word; only m carries text; a sentence is never taken for a choice', () => {
  const cases: [string, ReturnType<typeof parseMenuChoice>][] = [
    ['', { kind: 'resume' }],
    ['  r ', { kind: 'resume' }],
    ['Resume', { kind: 'resume' }],
    ['m', { kind: 'message', text: '' }],
    ['m  use tabs, not spaces ', { kind: 'message', text: 'use tabs, not spaces' }],
    ['message hi', { kind: 'message', text: 'hi' }],
    ['s', { kind: 'skip' }],
    ['skip', { kind: 'skip' }],
    ['q', { kind: 'quit' }],
    ['stop', { kind: 'quit' }],
    ['stop using tabs', { kind: 'unknown', text: 'stop using tabs' }],
    ['s please', { kind: 'unknown', text: 's please' }],
    ['x', { kind: 'unknown', text: 'x' }],
  ];
  for (const [line, want] of cases) assert.equal(parseMenuChoice(line), want, JSON.stringify(line));
});

const running: Situation = { agent: 'plan', job: 'plan (issue: a.md)', phase: 'running', interactive: true, stopping: false };
const idle: Situation = { agent: null, phase: 'sleeping', interactive: true, stopping: false };
const line = (text: string): ConsoleInput => ({ kind: 'line', text });
const kinds = (mode: ConsoleMode, input: ConsoleInput, s: Situation) => {
  const r = react(mode, input, s);
  return [r.mode, ...r.actions.map((a) => a.kind)];
};

test('a line: sent to a running agent; otherwise not sent, and said so; blank lines do nothing', () => {
  assert.equal(react('steer', line('  use tabs '), running), { mode: 'steer', actions: [{ kind: 'send', text: 'use tabs' }] });
  const r = react('steer', line('use tabs'), idle);
  assert.equal(r.actions.map((a) => a.kind), ['say']);
  assert.match(JSON.stringify(r.actions[0]), /no agent session is running \(sleeping\); not sent: use tabs/);
  assert.equal(kinds('steer', line('   '), running), ['steer']);
  assert.equal(kinds('steer', { kind: 'end' }, running), ['steer']);
});

test('Ctrl-C: a menu while an agent runs on a terminal; a stop request otherwise', () => {
  const r = react('steer', { kind: 'interrupt' }, running);
  assert.equal(r.mode, 'menu');
  assert.equal(r.actions, [{ kind: 'pause', menu: menuText(running) }]);
  assert.equal(kinds('steer', { kind: 'interrupt' }, { ...running, interactive: false }), ['steer', 'stop']);
  assert.equal(kinds('steer', { kind: 'interrupt' }, idle), ['steer', 'stop']);
  assert.equal(kinds('steer', { kind: 'interrupt' }, { ...running, stopping: true }), ['steer', 'stop'], 'a second Ctrl-C after q stops at once');
});

test('at the menu: m composes, m <text> sends and resumes, Enter resumes, s skips, q stops, Ctrl-C stops now', () => {
  assert.equal(kinds('menu', line('m'), running), ['compose', 'say']);
  assert.equal(react('menu', line('m use tabs'), running), { mode: 'steer', actions: [{ kind: 'send', text: 'use tabs' }, { kind: 'resume' }] });
  assert.equal(kinds('menu', line(''), running), ['steer', 'say', 'resume']);
  assert.equal(kinds('menu', line('s'), running), ['steer', 'say', 'skip']);
  assert.equal(kinds('menu', line('q'), running), ['steer', 'stop']);
  assert.equal(kinds('menu', line('what?'), running), ['menu', 'say']);
  assert.equal(kinds('menu', { kind: 'interrupt' }, running), ['menu', 'stop-now']);
  assert.equal(kinds('menu', { kind: 'end' }, running), ['steer', 'resume']);
  assert.equal(react('compose', line(' use tabs '), running), { mode: 'steer', actions: [{ kind: 'send', text: 'use tabs' }, { kind: 'resume' }] });
  assert.equal(kinds('compose', line(''), running), ['steer', 'say', 'resume']);
  assert.equal(kinds('compose', { kind: 'interrupt' }, running), ['compose', 'stop-now']);
  for (const mode of ['steer', 'menu', 'compose'] as const) assert.equal(kinds(mode, { kind: 'terminate' }, running), ['steer', 'stop'], `SIGTERM in ${mode}`);
});

test('the menu says what skip means in each phase', () => {
  assert.match(menuText(running), /skip this job: end the session now; its commits land as usual/);
  assert.match(menuText({ agent: 'plan', phase: 'resolving' }), /the rebase is undone, the commits stay on the branch/);
});

// ---------------------------------------------------------------------------------
// the shell

class FakeSession implements SessionHandle {
  sent: string[] = [];
  calls: string[] = [];
  open = true;
  cliLabel = 'Claude Code';
  steering = true;
  readonly outcome = new Promise<SessionOutcome>(() => {});
  sessionId = () => 'sid';
  send = (text: string) => (this.open ? (this.sent.push(text), true) : false);
  abort = () => void this.calls.push('abort');
  pause = () => (this.calls.push('pause'), this.open);
  resume = () => void this.calls.push('resume');
}

function shell(opts: { tty: boolean }) {
  const input = Object.assign(new PassThrough(), { isTTY: opts.tty });
  const err = new Capture(false);
  const shown: string[] = [];
  const ui: WorkerUi = { header: (s) => shown.push(`header ${s.phase}`), line: (t) => shown.push(t), problem: (t) => shown.push(`! ${t}`) };
  const control = { session: null as SessionHandle | null, stopping: false };
  const events: string[] = [];
  const c = attachConsole({ input, ui, err, control, onStop: () => events.push('stop'), onStopNow: () => events.push('stop-now'), foreground: () => true });
  const type = async (text: string) => {
    input.write(text);
    await new Promise((r) => setImmediate(r));
  };
  return { c, input, err, shown, control, events, type };
}

test('shell: a typed line reaches the running session and is confirmed; between sessions it is not sent', async () => {
  const t = shell({ tty: false });
  const session = new FakeSession();
  t.c.ui.header(state({ phase: 'running', agent: 'plan' }));
  t.control.session = session;
  await t.type('use tabs\n');
  assert.equal(session.sent, ['use tabs']);
  assert.match(t.err.text, /coven: sent to plan: use tabs/);
  t.control.session = null;
  await t.type('too late\n');
  assert.equal(session.sent, ['use tabs']);
  assert.match(t.err.text, /no agent session is running \(running\); not sent: too late/);
  t.c.ui.header(state({ phase: 'dispatching' }));
  t.control.session = session; // a dispatch session is not steered
  await t.type('pick b\n');
  assert.equal(session.sent, ['use tabs']);
  t.c.close();
});

test('shell: a line typed for a CLI that takes no message mid-session is not sent, and the reason is the CLI, not an ended session', async () => {
  const t = shell({ tty: false });
  const session = Object.assign(new FakeSession(), { cliLabel: 'Codex', steering: false });
  t.c.ui.header(state({ phase: 'running', agent: 'plan' }));
  t.control.session = session;
  await t.type('use tabs\n');
  assert.equal(session.sent, []);
  assert.match(t.err.text, /coven: not sent: Codex takes no message while its session runs \(only Claude Code does\); plan goes on: use tabs/);
  assert.not.match(t.err.text, /has ended/);
  t.c.close();
});

test('shell off a terminal: Ctrl-C is a stop request, never a menu', async () => {
  const t = shell({ tty: false });
  const session = new FakeSession();
  t.c.ui.header(state({ phase: 'running', agent: 'plan' }));
  t.control.session = session;
  t.c.interrupt();
  assert.equal(t.events, ['stop']);
  assert.equal(session.calls, []);
  assert.not.match(t.err.text, /paused/);
  t.c.close();
});

test('shell on a terminal: Ctrl-C pauses and shows the menu; output waits until the answer; m sends and resumes', async () => {
  const t = shell({ tty: true });
  const session = new FakeSession();
  t.c.ui.header(state({ phase: 'running', agent: 'plan', args: { issue: 'a.md' } }));
  t.control.session = session;
  t.c.interrupt();
  assert.equal(session.calls, ['pause']);
  assert.match(t.err.text, /paused plan \(issue: a\.md\)/);
  t.c.ui.line('a line from the session');
  assert.not.ok(t.shown.includes('a line from the session'), 'held while the menu is up');
  await t.type('m\n');
  assert.match(t.err.text, /your message for plan/);
  await t.type('use tabs\n');
  assert.equal(session.sent, ['use tabs']);
  assert.equal(session.calls, ['pause', 'resume']);
  assert.ok(t.shown.includes('a line from the session'), 'shown after the menu');
  t.c.close();
});

test('shell on a terminal: s ends the session; q asks for a stop; Ctrl-C at the menu stops now', async () => {
  const t = shell({ tty: true });
  const session = new FakeSession();
  t.c.ui.header(state({ phase: 'running', agent: 'plan' }));
  t.control.session = session;
  t.c.interrupt();
  await t.type('s\n');
  assert.equal(session.calls, ['pause', 'abort']);
  t.c.interrupt();
  await t.type('q\n');
  assert.equal(t.events, ['stop']);
  t.c.interrupt();
  t.c.interrupt();
  assert.equal(t.events, ['stop', 'stop-now']);
  t.c.close();
});

test('shell on a terminal: SIGTERM at the menu is a stop request; the held output is shown', async () => {
  const t = shell({ tty: true });
  const session = new FakeSession();
  t.c.ui.header(state({ phase: 'running', agent: 'plan' }));
  t.control.session = session;
  t.c.interrupt();
  t.c.ui.line('held');
  t.c.terminate();
  assert.equal(t.events, ['stop']);
  assert.ok(t.shown.includes('held'));
  t.c.ui.line('after');
  assert.ok(t.shown.includes('after'), 'no longer held');
  t.c.close();
});

test('shell on a terminal: a session that ended just before Ctrl-C gets no menu; the Ctrl-C is a stop request', async () => {
  const t = shell({ tty: true });
  const session = new FakeSession();
  session.open = false;
  t.c.ui.header(state({ phase: 'running', agent: 'plan' }));
  t.control.session = session;
  t.c.interrupt();
  assert.equal(t.events, ['stop']);
  assert.not.match(t.err.text, /paused/);
  t.c.ui.line('after');
  assert.ok(t.shown.includes('after'), 'output is not held');
  t.c.close();
});

test.run();
