// worker-console — what the human at a worker's terminal can do while it works.
//
// Steering: a line typed while an agent session runs (phase running or resolving) is sent
// to that session as a user message (stream-json); the agent sees it at its next step.
// A line typed while no agent session runs is not kept for later (a hint meant for one
// job must not reach an unrelated later one): the worker says it was not sent.
// Ctrl-C while an agent session runs, on a terminal: the session is paused (its
// processes are stopped) and a menu is offered: m send a message and resume · r resume ·
// s skip this job · q stop the worker. Ctrl-C at the menu stops the worker at once.
// The worker's output is held while the menu is up and shown after it.
// Ctrl-C at any other time stops the worker (first: once the current step is safe;
// second: at once), as it always did.
//
// When stdin is not a terminal (CI, nohup, a pipe) there is no menu and no prompt:
// SIGINT stops the worker as above, and lines that arrive on a piped stdin are still
// sent as steering messages. A worker in the background of its terminal does not read
// it (that would stop it with SIGTTIN); it starts reading once brought to the foreground.
//   inputs:  stdin lines; interrupt() on SIGINT; the worker's phase (seen through the
//            ui's header calls) and its current session (the stop control)
//   outputs: steering messages to the session; messages for the human on stderr

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import type { SessionHandle } from '../session/runner.js';
import type { Phase, WorkerState } from '../worker/state.js';
import { describeJob, type WorkerUi } from './worker-ui.js';

// ---------------------------------------------------------------------------------
// pure: what a line or a Ctrl-C means

export type ConsoleMode = 'steer' | 'menu' | 'compose';

export interface Situation {
  /** the agent whose session runs and can be steered; null when none does */
  agent: string | null;
  /** that agent with its arguments, e.g. `plan (issue: issues/a.md)` */
  job?: string;
  phase: Phase;
  /** whether the menu may be offered: stdin is a terminal this worker reads */
  interactive: boolean;
  /** a stop was already asked for */
  stopping: boolean;
}

/** interrupt: Ctrl-C (SIGINT) · terminate: SIGTERM, always a stop request · end: stdin ended */
export type ConsoleInput = { kind: 'line'; text: string } | { kind: 'interrupt' } | { kind: 'terminate' } | { kind: 'end' };

export type ConsoleAction =
  /** send a steering message to the running session */
  | { kind: 'send'; text: string }
  /** pause the session, hold the output, show the menu (if it cannot be paused: stop, as without a session) */
  | { kind: 'pause'; menu: string }
  | { kind: 'resume' }
  /** end the session; the worker goes on with what it left */
  | { kind: 'skip' }
  /** a stop request: the first stops once the current step is safe, a second at once */
  | { kind: 'stop' }
  | { kind: 'stop-now' }
  | { kind: 'say'; text: string };

export type MenuChoice = { kind: 'message'; text: string } | { kind: 'resume' } | { kind: 'skip' } | { kind: 'quit' } | { kind: 'unknown'; text: string };

/** A menu answer: one letter or word; only `m` may carry text (the message itself). */
export function parseMenuChoice(line: string): MenuChoice {
  const text = line.trim();
  const word = text.split(/\s+/)[0] ?? '';
  const rest = text.slice(word.length).trim();
  const w = word.toLowerCase();
  if (w === 'm' || w === 'message') return { kind: 'message', text: rest };
  if (rest !== '') return { kind: 'unknown', text }; // "stop using tabs" is not a request to stop
  if (w === '' || w === 'r' || w === 'resume') return { kind: 'resume' };
  if (w === 's' || w === 'skip') return { kind: 'skip' };
  if (w === 'q' || w === 'quit' || w === 'stop') return { kind: 'quit' };
  return { kind: 'unknown', text };
}

/** The menu shown when Ctrl-C pauses a session. */
export function menuText(s: Pick<Situation, 'agent' | 'job' | 'phase'>): string {
  const agent = s.agent ?? 'the agent';
  const what = s.phase === 'resolving' ? `${agent}'s conflict resolution` : (s.job ?? agent);
  const skip =
    s.phase === 'resolving'
      ? 'skip: end this conflict resolution; the rebase is undone, the commits stay on the branch, the land is tried again once main moves or after a wait'
      : 'skip this job: end the session now; its commits land as usual, uncommitted changes are saved under refs/coven/wip/';
  return [
    '', // after the ^C the terminal shows
    `coven: paused ${what}; its processes are stopped. Type a letter, then Enter:`,
    `  m        send ${agent} a message, then resume (or: m <message>)`,
    '  r        resume (or just Enter)',
    `  s        ${skip}`,
    '  q        stop the worker: the session ends, every commit is kept',
    '  Ctrl-C   stop the worker at once',
  ].join('\n');
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/** What an input does in a mode; pure. */
export function react(mode: ConsoleMode, input: ConsoleInput, s: Situation): { mode: ConsoleMode; actions: ConsoleAction[] } {
  const same = (actions: ConsoleAction[] = []) => ({ mode, actions });
  if (input.kind === 'terminate') return { mode: 'steer', actions: [{ kind: 'stop' }] };
  if (mode === 'steer') {
    if (input.kind === 'end') return same();
    if (input.kind === 'interrupt') {
      if (s.interactive && s.agent && !s.stopping) return { mode: 'menu', actions: [{ kind: 'pause', menu: menuText(s) }] };
      return same([{ kind: 'stop' }]);
    }
    const text = input.text.trim();
    if (!text) return same();
    if (s.agent) return same([{ kind: 'send', text }]);
    return same([{ kind: 'say', text: `coven: no agent session is running (${s.phase}); not sent: ${clip(text)}` }]);
  }
  // menu and compose: the session is paused
  if (input.kind === 'interrupt') return same([{ kind: 'stop-now' }]);
  if (input.kind === 'end') return { mode: 'steer', actions: [{ kind: 'resume' }] };
  if (mode === 'compose') {
    const text = input.text.trim();
    return { mode: 'steer', actions: text ? [{ kind: 'send', text }, { kind: 'resume' }] : [{ kind: 'say', text: 'coven: nothing sent; resumed.' }, { kind: 'resume' }] };
  }
  const choice = parseMenuChoice(input.text);
  switch (choice.kind) {
    case 'resume':
      return { mode: 'steer', actions: [{ kind: 'say', text: 'coven: resumed.' }, { kind: 'resume' }] };
    case 'message':
      if (choice.text) return { mode: 'steer', actions: [{ kind: 'send', text: choice.text }, { kind: 'resume' }] };
      return { mode: 'compose', actions: [{ kind: 'say', text: `coven: your message for ${s.agent ?? 'the agent'} (Enter sends it and resumes; an empty line just resumes):` }] };
    case 'skip':
      return { mode: 'steer', actions: [{ kind: 'say', text: s.phase === 'resolving' ? 'coven: ending this conflict resolution.' : 'coven: skipping this job: ending the session.' }, { kind: 'skip' }] };
    case 'quit':
      return { mode: 'steer', actions: [{ kind: 'stop' }] };
    case 'unknown':
      return same([{ kind: 'say', text: `coven: '${clip(choice.text)}' is not a choice: m (message), r (resume), s (skip), q (stop the worker).` }]);
  }
}

// ---------------------------------------------------------------------------------
// the shell: stdin, the session, held output

export interface ConsoleControl {
  /** the session running now (null between sessions) */
  readonly session: SessionHandle | null;
  readonly stopping: boolean;
}

export interface ConsoleOptions {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  /** where the worker's output goes; the console holds it while the menu is up */
  ui: WorkerUi;
  /** messages for the human (the menu, confirmations) */
  err: NodeJS.WritableStream;
  control: ConsoleControl;
  /** a stop request (the first: once the step is safe; the second: at once) */
  onStop: () => void;
  onStopNow: () => void;
  /** whether the worker is in its terminal's foreground (default: asks the system) */
  foreground?: () => boolean | null;
}

export interface WorkerConsole {
  /** the ui to give the worker */
  ui: WorkerUi;
  /** SIGINT */
  interrupt(): void;
  /** SIGTERM: a stop request, also while the menu is up */
  terminate(): void;
  close(): void;
}

export function attachConsole(o: ConsoleOptions): WorkerConsole {
  return new AttachedConsole(o);
}

/** The console's state is its fields; each input and each action is a method. */
class AttachedConsole implements WorkerConsole {
  readonly ui: WorkerUi;
  private readonly tty: boolean;
  private readonly inFront: () => boolean | null;
  private mode: ConsoleMode = 'steer';
  private state: Pick<WorkerState, 'phase' | 'agent' | 'args'> = { phase: 'starting', agent: null, args: {} };
  private rl: Interface | null = null;
  /** stdin reached its end (Ctrl-D, /dev/null, a closed pipe) */
  private ended = false;
  private closed = false;
  private foreground: boolean;
  private paused: SessionHandle | null = null;
  /** the worker's output held while the menu is up */
  private readonly held: (() => void)[] = [];
  private poll: NodeJS.Timeout | null = null;
  private readonly onContinue = (): void => this.checkForeground();

  constructor(private readonly o: ConsoleOptions) {
    this.tty = o.input.isTTY === true;
    this.inFront = o.foreground ?? inForeground;
    this.foreground = this.tty ? this.inFront() !== false : true;
    this.ui = {
      header: (s) => {
        this.state = s;
        this.out(() => o.ui.header(s));
      },
      line: (text) => this.out(() => o.ui.line(text)),
      problem: (text) => this.out(() => o.ui.problem(text)),
    };
    if (this.foreground) this.startReading();
    if (this.tty) {
      process.on('SIGCONT', this.onContinue);
      this.checkForeground();
    }
  }

  interrupt(): void {
    this.feed({ kind: 'interrupt' });
  }

  terminate(): void {
    this.feed({ kind: 'terminate' });
  }

  close(): void {
    this.closed = true;
    if (this.tty) process.removeListener('SIGCONT', this.onContinue);
    if (this.poll) clearInterval(this.poll);
    this.paused?.resume();
    this.paused = null;
    this.mode = 'steer';
    this.flush();
    this.rl?.close();
    this.o.input.pause?.();
  }

  private say(text: string): void {
    this.o.err.write(`${text}\n`);
  }

  private agentName(): string {
    return this.state.agent ?? 'the agent';
  }

  private situation(): Situation {
    const { state, o } = this;
    const steerable = o.control.session !== null && (state.phase === 'running' || state.phase === 'resolving');
    return { agent: steerable ? this.agentName() : null, job: describeJob(state) || undefined, phase: state.phase, interactive: this.tty && this.foreground && !this.ended && this.rl !== null, stopping: o.control.stopping };
  }

  private feed(input: ConsoleInput): void {
    const r = react(this.mode, input, this.situation());
    this.mode = r.mode;
    for (const a of r.actions) this.act(a);
  }

  private act(a: ConsoleAction): void {
    const session = this.paused ?? this.o.control.session;
    switch (a.kind) {
      case 'say':
        return this.say(a.text);
      case 'send':
        if (session && !session.steering) this.say(`coven: not sent: ${session.cliLabel} takes no message while its session runs (only Claude Code does); ${this.agentName()} goes on: ${clip(a.text)}`);
        else if (session?.send(a.text)) this.say(`coven: sent to ${this.agentName()}: ${clip(a.text)}`);
        else this.say(`coven: not sent (the session of ${this.agentName()} has ended): ${clip(a.text)}`);
        return;
      case 'pause':
        if (session?.pause()) {
          this.paused = session;
          return this.say(a.menu);
        }
        this.mode = 'steer';
        this.say('coven: the agent session has just ended.');
        return this.o.onStop();
      case 'resume':
        this.paused?.resume();
        this.paused = null;
        return this.flush();
      case 'skip':
        session?.abort(); // a paused session is continued so that it can end
        this.paused = null;
        return this.flush();
      case 'stop':
        this.o.onStop(); // ends the session, continuing it if paused
        this.paused?.resume();
        this.paused = null;
        return this.flush();
      case 'stop-now':
        this.mode = 'steer';
        this.flush(); // what the session printed while the menu was up
        return this.o.onStopNow();
    }
  }

  private flush(): void {
    if (this.mode !== 'steer') return;
    for (const write of this.held.splice(0)) write();
  }

  private out(write: () => void): void {
    if (this.mode === 'steer' && this.held.length === 0) write();
    else this.held.push(write);
  }

  private startReading(): void {
    if (this.rl || this.ended || this.closed) return;
    const rl = createInterface({ input: this.o.input, terminal: false, crlfDelay: Infinity });
    this.rl = rl;
    rl.on('line', (line) => this.feed({ kind: 'line', text: line }));
    rl.on('close', () => {
      this.rl = null;
      if (this.closed) return;
      this.ended = true;
      if (this.tty) this.say('coven: the terminal input ended (Ctrl-D): typed lines and the Ctrl-C menu are off; Ctrl-C stops the worker.');
      this.feed({ kind: 'end' });
    });
  }

  // fg / bg: read the terminal only while in its foreground. Going to the background
  // takes a stop (Ctrl-Z) and a SIGCONT (bg); `fg` of a running job sends no signal, so
  // a worker in the background looks every 2 s whether it has been brought forward.
  private checkForeground(): void {
    if (this.closed) return;
    const now = this.inFront() !== false;
    if (now !== this.foreground) {
      this.foreground = now;
      if (now) {
        this.startReading();
        this.rl?.resume();
      } else this.rl?.pause();
    }
    if (!this.foreground && !this.poll) this.poll = setInterval(() => this.checkForeground(), 2_000).unref();
    if (this.foreground && this.poll) {
      clearInterval(this.poll);
      this.poll = null;
    }
  }
}

/**
 * Whether this process's group is the foreground group of its controlling terminal
 * (/proc on Linux, else ps); null when it cannot be told.
 */
export function inForeground(): boolean | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // after "pid (comm) ": state ppid pgrp session tty_nr tpgid
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[5]) === Number(f[2]);
  } catch {
    const ps = spawnSync('ps', ['-o', 'pgid=,tpgid=', '-p', String(process.pid)], { encoding: 'utf8' });
    const [pgid, tpgid] = (ps.stdout ?? '').trim().split(/\s+/).map(Number);
    return ps.status === 0 && pgid !== undefined && tpgid !== undefined && !Number.isNaN(tpgid) ? pgid === tpgid : null;
  }
}
