#!/usr/bin/env node
// demo — `coven demo`: watch coven do its job on a tiny project, in under a minute.
//
// In a new temporary repository it runs `coven init`, commits four issues (two
// approved, two new) and starts three workers. By default the agents are scripted
// stand-ins for the agent CLIs (a simulation: no model, no network, no login; coven's
// test fakes, their script in demo/project.ts), and the team is mixed: dispatch on
// Claude Code, plan on Gemini CLI, implement on Codex then opencode. What happens is
// always the same story: dispatch picks jobs, Codex's vendor refuses one
// implementation (quota) and opencode takes it over in the same worktree, two
// implementations land (the second after a rebase conflict that its own session
// resolves when resumed), two plans move to review/, every worker goes to sleep, the
// demo plays the human and approves one plan, a worker wakes for that commit and
// implements it. Then the workers are stopped and a summary printed.
//   args:   --real      the same with the real `claude` for every agent (uses your login; costs tokens)
//           --dir DIR   build the demo in DIR (new or empty; default: a new temp folder)
//   env:    COVEN_CLAUDE (with --real: the claude binary; default `claude` on PATH); the
//           simulation sets COVEN_CLAUDE, COVEN_CODEX, COVEN_GEMINI, COVEN_OPENCODE for its workers
//   prints: every worker's lines, prefixed with its name; the summary; the repository path
//   files:  DIR/hello (the repository, kept for you to look at), DIR/worktrees,
//           DIR/stand-in (the simulation's script, the fakes' logs and sessions)
//   exit:   0 the story ran to its end · 1 it did not finish in time · 2 cannot start
//           (no claude for --real, DIR not empty) · 64 bad usage

import { parseCommandLine } from '../scripts/lib/ui/command-line.js';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { initRepo } from '../scripts/init.js';
import { runWorker, StopControl, type WorkerExit } from '../scripts/worker-loop.js';
import { APPROVED_BY_DEMO, issues, issueText, PROJECT_NAME, projectFiles, standInScript, TEAM_CLIS } from './project.js';
import { runAsEntry } from '../scripts/lib/ui/entry.js';
import { gitOut } from '../scripts/lib/git/runner.js';
import { formatProblem, shellQuote } from '../scripts/lib/ui/problem.js';
import { describeCli, describeJob, escapesAllowed, type WorkerUi } from '../scripts/lib/ui/worker-ui.js';
import type { Phase, WorkerState } from '../scripts/lib/worker/state.js';

const WORKERS = ['amber-fox', 'brave-otter', 'calm-heron'];
const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface DemoOptions {
  /** new or empty folder for the demo (default: a new temp folder) */
  dir?: string;
  real?: boolean;
  /** one line of output (already prefixed) */
  out?: (line: string) => void;
  /** give up after this long (default 2 min simulated, 30 min real) */
  deadlineMs?: number;
  /** stops the demo early (Ctrl-C) */
  signal?: AbortSignal;
}

export interface Summary {
  jobs: Record<string, number>;
  /** `implement on codex` → how many sessions; a job whose CLI was refused counts on both */
  clis: Record<string, number>;
  /** `implement on opencode (codex refused: quota)`: each time a job changed CLI */
  changes: string[];
  dispatches: number;
  landed: number;
  conflicts: number;
  resolved: number;
  wakes: number;
  seconds: number;
}

export type DemoResult =
  | { kind: 'finished'; repo: string; summary: Summary }
  | { kind: 'timed-out'; repo: string; summary: Summary; waitingFor: string }
  | { kind: 'cannot-start'; message: string };

export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const started = Date.now();
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const claude = opts.real ? findClaude() : null;
  if (opts.real && !claude) return { kind: 'cannot-start', message: formatProblem(noClaude) };
  const dir = opts.dir ? resolve(opts.dir) : mkdtempSync(join(tmpdir(), 'coven-demo-'));
  if (existsSync(dir) && readdirSync(dir).length > 0) return { kind: 'cannot-start', message: formatProblem({ what: `cannot build the demo in ${dir}: the folder is not empty.`, kept: 'Nothing was changed.', next: ['coven demo --dir <a new or empty folder>'] }) };
  mkdirSync(dir, { recursive: true });

  const say = prefixer(out, 'demo');
  say(opts.real ? `coven demo with the real claude (${claude}): it uses your login and costs tokens.` : 'coven demo — a SIMULATION: scripted stand-ins play claude, codex, gemini and opencode (no model, no network, no login; the costs shown are made up).');
  say(`Watch for: dispatch choosing work · plans moving to review/ · implementations landing · a conflict resolved by resuming a session${opts.real ? '' : ' · a job moving to the next CLI when its vendor refuses'} · workers sleeping, and waking when main moves.`);
  const repo = await setUpRepository(dir, say, !opts.real);
  const env = opts.real ? { ...process.env } : standInEnv(dir);

  // the director watches every worker's phase through its ui
  const board = new Board();
  const workers = WORKERS.map((name, i) => {
    const stop = new StopControl();
    const ui = workerUi(prefixer(out, name, i), board);
    const done = runWorker(
      { cwd: repo, name, worktreeBase: join(dir, 'worktrees'), env, ui, timeoutMs: opts.real ? 15 * 60_000 : 30_000, retryMs: 1_000, safetyIntervalMs: opts.real ? 10_000 : 2_000 },
      stop,
    );
    return { name, stop, done };
  });
  say(`started 3 workers, each in its own worktree under ${join(dir, 'worktrees')}: ${WORKERS.join(', ')}`);

  // the story's two turns: once every worker sleeps, play the human and approve a plan;
  // once its implementation has landed and every worker sleeps again, stop
  // (the simulation takes 10-30 s; the deadline only guards against a demo that is stuck)
  const deadline = started + (opts.deadlineMs ?? (opts.real ? 30 * 60_000 : 120_000));
  const plan = await board.waitFor(deadline, opts.signal, async () => ((await quiet(repo, board)) ? approveOnePlan(repo, say) : null));
  const implemented = async () => (plan !== null && !existsSync(join(repo, plan)) && (await quiet(repo, board)) ? true : null);
  const finished = plan !== null && (await board.waitFor(deadline, opts.signal, implemented)) !== null;
  const waitingFor = plan === null ? 'every worker to sleep with the plans in review' : `the implementation of ${plan} to land and every worker to sleep again`;
  say(
    finished ? 'Everything that was ready is done; one plan is left for you to review. Stopping the workers.'
    : opts.signal?.aborted ? 'Stopping the workers (interrupted).'
    : `The demo did not finish in time (waiting for ${waitingFor}); stopping the workers.`,
  );
  for (const w of workers) w.stop.request();
  const exits = await Promise.all(workers.map((w) => w.done));
  for (const [i, e] of exits.entries()) if (e.kind !== 'done') say(`${WORKERS[i]} ended with ${describeExit(e)}`);

  const summary = board.summary(Math.round((Date.now() - started) / 100) / 10);
  return finished ? { kind: 'finished', repo, summary } : { kind: 'timed-out', repo, summary, waitingFor };
}

// ---------------------------------------------------------------------------------
// the repository

async function setUpRepository(dir: string, say: (line: string) => void, mixed: boolean): Promise<string> {
  const repo = join(dir, PROJECT_NAME);
  mkdirSync(repo);
  const git = (...args: string[]) => gitOut(repo, args);
  await git('init', '-q', '-b', 'main');
  await git('config', 'user.name', 'coven demo');
  await git('config', 'user.email', 'demo@coven.invalid');
  writeFiles(repo, projectFiles);
  await git('add', '-A');
  await git('commit', '-q', '-m', 'hello: prints a greeting');
  say(`repository: ${repo} (a tiny project: hello.js, test.js)`);

  const init = await initRepo({ dir: repo });
  if (init.kind !== 'initialised') throw new Error(`coven init failed in ${repo}: ${init.kind}`);
  const wrote = init.steps.filter((s) => s.kind !== 'skipped').map((s) => s.path);
  const hooks = init.hooks.kind === 'installed' ? 'installed (they wake sleeping workers when main moves)' : init.hooks.kind === 'failed' ? `not installed: ${init.hooks.message}` : init.hooks.kind;
  say(`coven init: wrote ${wrote.join(', ')}; hooks ${hooks}`);
  say('the demo brings its own issues instead of issues/example.md, and leaves out the audit agent so that the workers run out of work');
  rmSync(join(repo, 'issues', 'example.md'));
  rmSync(join(repo, '.coven', 'agents', 'audit.md'));
  const workflow = join(repo, '.coven', 'workflow.md');
  writeFileSync(workflow, readFileSync(workflow, 'utf8').replace(/^- Run the tests: .*$/m, '- Run the tests: `npm test`'));
  if (mixed) chooseTeamClis(repo, say);
  await git('add', '-A');
  await git('commit', '-q', '-m', 'Set up coven');

  writeFiles(repo, Object.fromEntries(issues.map((i) => [`issues/${i.name}.md`, issueText(i)])));
  await git('add', '-A');
  await git('commit', '-q', '-m', 'Four issues');
  const width = Math.max(...issues.map((i) => i.name.length));
  for (const i of issues) say(`issue: issues/${`${i.name}.md`.padEnd(width + 3)}  ${i.state.padEnd(8)}  ${i.priority}  ${i.title}`);
  return repo;
}

/** The mixed team: each agent of TEAM_CLIS gets its `cli:` in place of its `claude_args`. */
function chooseTeamClis(repo: string, say: (line: string) => void): void {
  for (const [agent, cli] of Object.entries(TEAM_CLIS)) {
    const file = join(repo, '.coven', 'agents', `${agent}.md`);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^claude_args: .*$/m, `cli: ${cli}`));
  }
  const team = Object.entries(TEAM_CLIS).map(([agent, cli]) => `${agent} on ${cli.replace(/^\[|\]$/g, '').replace(', ', ', then ')}`);
  say(`a mixed team: dispatch on claude, ${team.join(', ')} (cli: in each .coven/agents file); codex's vendor will refuse one job for quota`);
}

function writeFiles(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

/** The demo plays the human: approves one plan waiting in review/ and commits it on main. */
async function approveOnePlan(repo: string, say: (line: string) => void): Promise<string | null> {
  const waiting = readdirSync(join(repo, 'review')).filter((n) => n.endsWith('.md') && /^state: review$/m.test(readFileSync(join(repo, 'review', n), 'utf8')));
  const pick = waiting.find((n) => n === `${APPROVED_BY_DEMO}.md`) ?? waiting[0];
  if (!pick) return null;
  const path = `review/${pick}`;
  const file = join(repo, path);
  say(`every worker sleeps; ${waiting.length} plan(s) wait in review/. Playing the human: approving ${path} (state: approved) and committing it on main.`);
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^state: review$/m, 'state: approved'));
  await gitOut(repo, ['commit', '-q', '-m', `approve the plan of ${pick.replace(/\.md$/, '')}`, '--', path]);
  return path;
}

/** Every worker sleeps, waiting for main to move from where it is now. */
async function quiet(repo: string, board: Board): Promise<boolean> {
  const tip = await gitOut(repo, ['rev-parse', 'refs/heads/main']);
  return WORKERS.every((n) => board.states.get(n)?.phase === 'sleeping' && board.states.get(n)?.waiting_on === tip);
}

// ---------------------------------------------------------------------------------
// the stand-in for claude

/** the CLIs the simulation plays, each by coven's test fake (fakes/<cli>.ts) */
const STAND_INS = ['claude', 'codex', 'gemini', 'opencode'] as const;

/**
 * The environment of the simulation: each CLI's binary (COVEN_CLAUDE, COVEN_CODEX …) is
 * a shim that runs its fake; the fakes share one script (each run is used once, by
 * whichever CLI's turn matches it first) and each writes its own log; their sessions
 * are kept under DIR/stand-in, never in the user's home.
 */
function standInEnv(dir: string): NodeJS.ProcessEnv {
  const home = join(dir, 'stand-in');
  mkdirSync(home, { recursive: true });
  const node = shellQuote(process.execPath);
  const script = join(home, 'script.json');
  writeFileSync(script, JSON.stringify(standInScript(`${node} ${shellQuote(join(dist, 'demo', 'stand-in.js'))}`), null, 2));
  const env: NodeJS.ProcessEnv = { ...process.env, CLAUDE_CONFIG_DIR: join(home, 'claude-config'), CODEX_HOME: join(home, 'codex-home'), XDG_DATA_HOME: join(home, 'data'), GEMINI_CLI_HOME: join(home, 'gemini-home') };
  for (const cli of STAND_INS) {
    const shim = join(home, cli);
    writeFileSync(shim, shimText(cli, node));
    chmodSync(shim, 0o755);
    const upper = cli.toUpperCase();
    Object.assign(env, { [`COVEN_${upper}`]: shim, [`FAKE_${upper}_SCRIPT`]: script, [`FAKE_${upper}_LOG`]: join(home, cli === 'claude' ? 'log.jsonl' : `log-${cli}.jsonl`) });
  }
  return env;
}

/**
 * The shim that runs CLI's fake with this node. opencode's is a node script: a /bin/sh
 * one would reset $PWD, from which opencode (and its fake) takes its directory.
 */
function shimText(cli: string, node: string): string {
  const fake = join(dist, 'fakes', `${cli}.js`);
  const said = `the stand-in for ${cli} in coven demo: coven's test fake`;
  if (cli !== 'opencode') return `#!/bin/sh\n# ${said}, run by node\nexec ${node} ${shellQuote(fake)} "$@"\n`;
  const shebang = /\s/.test(process.execPath) ? '/usr/bin/env node' : process.execPath;
  return `#!${shebang}\n// ${said}\nimport(${JSON.stringify(pathToFileURL(fake).href)}).then((fake) => fake.runFakeOpencode(process.argv.slice(2)));\n`;
}

const noClaude = {
  what: 'coven demo --real runs the real Claude Code CLI, but there is no `claude` on PATH (nor where COVEN_CLAUDE points).',
  kept: 'Nothing was created.',
  next: ['install Claude Code (npm install -g @anthropic-ai/claude-code), log in once with `claude`, then: coven demo --real', 'coven demo   (the simulation: no claude needed)'],
};

/** $COVEN_CLAUDE (a path, or a name looked up on PATH), else `claude` on PATH; null when not found. */
function findClaude(): string | null {
  const wanted = process.env.COVEN_CLAUDE?.trim() || 'claude';
  if (wanted.includes('/')) return existsSync(wanted) ? wanted : null;
  return onPath(wanted);
}

function onPath(name: string): string | null {
  for (const d of (process.env.PATH ?? '').split(delimiter)) if (d && existsSync(join(d, name))) return join(d, name);
  return null;
}

/** How the user runs coven: `coven` when it is on PATH (npm link), else this install's bin. */
function covenForUser(): string {
  return onPath('coven') ? 'coven' : shellQuote(resolve(dist, '..', 'bin', 'coven'));
}

// ---------------------------------------------------------------------------------
// what the workers show, and what the director learns from it

/** Tracks each worker's state from its ui, counts what happened, and wakes the director. */
class Board {
  readonly states = new Map<string, WorkerState>();
  private readonly counts = { dispatches: 0, conflicts: 0, parked: 0, wakes: 0 };
  private readonly jobs: Record<string, number> = {};
  private readonly clis: Record<string, number> = {};
  private readonly changes: string[] = [];
  private changed: () => void = () => {};

  update(state: WorkerState): void {
    const last = this.states.get(state.name);
    const before: Phase | undefined = last?.phase;
    this.states.set(state.name, state);
    if (state.phase === 'dispatching') this.counts.dispatches++;
    if (state.phase === 'dispatching' && before === 'sleeping') this.counts.wakes++;
    const newJob = state.phase === 'running' && before !== 'running';
    if (newJob && state.agent) this.jobs[state.agent] = (this.jobs[state.agent] ?? 0) + 1;
    if (state.phase === 'running' && state.agent && state.cli && (newJob || state.cli !== last?.cli)) {
      const on = `${state.agent} on ${state.cli}`;
      this.clis[on] = (this.clis[on] ?? 0) + 1;
      if (state.cli_note) this.changes.push(`${on} (${state.cli_note})`);
    }
    if (state.phase === 'resolving') this.counts.conflicts++;
    if (state.phase === 'parked') this.counts.parked++;
    this.changed();
  }

  /** Re-checks `found` at every phase change (and every second) until it gives a value, time runs out (null) or `signal` aborts (null). */
  async waitFor<T>(deadline: number, signal: AbortSignal | undefined, found: () => Promise<T | null>): Promise<T | null> {
    while (Date.now() < deadline && !signal?.aborted) {
      let wake = () => {};
      const next = new Promise<void>((r) => (wake = r));
      this.changed = wake;
      signal?.addEventListener('abort', wake);
      const timer = setTimeout(wake, Math.min(1_000, Math.max(0, deadline - Date.now())));
      try {
        const value = await found();
        if (value !== null) return value;
        await next;
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
      }
    }
    return null;
  }

  summary(seconds: number): Summary {
    const all = [...this.states.values()];
    return {
      jobs: { ...this.jobs },
      clis: { ...this.clis },
      changes: [...this.changes],
      dispatches: this.counts.dispatches,
      landed: all.reduce((n, s) => n + s.landed, 0),
      conflicts: this.counts.conflicts,
      resolved: this.counts.conflicts - this.counts.parked,
      wakes: this.counts.wakes,
      seconds,
    };
  }
}

const colours = ['\x1b[36m', '\x1b[35m', '\x1b[33m'];
const useColour = escapesAllowed(process.stdout) && !process.env.NO_COLOR; // a terminal, not TERM=dumb
const width = Math.max(...WORKERS.map((n) => n.length));

/** Writes lines as `name │ text` (the name coloured on a terminal). */
function prefixer(out: (line: string) => void, name: string, colour?: number): (text: string) => void {
  const label = name.padEnd(width);
  const shown = useColour ? `${colour === undefined ? '\x1b[1m' : colours[colour % colours.length]}${label}\x1b[0m` : label;
  return (text) => {
    for (const line of text.split('\n')) out(`${shown} │ ${line}`);
  };
}

/**
 * A worker's lines as `coven worker` prints them, a little shorter: the header without
 * the name (the prefix has it), and without what the next line says anyway (the
 * <dispatch> block, blank lines, waits for the dispatch lock).
 */
function workerUi(write: (text: string) => void, board: Board): WorkerUi {
  let inBlock = false;
  return {
    header(state) {
      board.update(state);
      const job = describeJob(state);
      const cli = job ? describeCli(state) : '';
      write(`── ${state.phase}${job ? ` ${job}` : ''}${cli ? ` on ${cli}` : ''} ──`);
    },
    line(text) {
      const t = text.trim();
      if (t === '<dispatch>') inBlock = true;
      if (!inBlock && t !== '' && !t.startsWith('waiting for dispatch')) write(text);
      if (t === '</dispatch>') inBlock = false;
    },
    problem(text) {
      write(text);
    },
  };
}

function describeExit(e: WorkerExit): string {
  return e.kind === 'done' ? 'done' : e.kind === 'kept' ? `work kept: ${e.why}` : `${e.kind}: ${e.message}`;
}

export function formatSummary(r: Extract<DemoResult, { kind: 'finished' | 'timed-out' }>, real: boolean): string {
  const s = r.summary;
  const jobs = Object.entries(s.jobs)
    .map(([agent, n]) => `${n} ${agent}`)
    .join(', ');
  const total = Object.values(s.jobs).reduce((a, b) => a + b, 0);
  return [
    `── summary${real ? '' : ' (simulation)'} ──`,
    `jobs run:           ${total} (${jobs || 'none'})`,
    ...(Object.keys(s.clis).length > 0 ? [`sessions per CLI:   ${Object.entries(s.clis).sort(([a], [b]) => (a < b ? -1 : 1)).map(([on, n]) => `${n} ${on}`).join(', ')}`] : []),
    ...s.changes.map((c) => `CLI changed:        ${c}, in the same worktree`),
    `dispatch decisions: ${s.dispatches}`,
    `commits landed:     ${s.landed}`,
    `conflicts resolved: ${s.resolved} of ${s.conflicts} (by resuming the session that wrote the change)`,
    `workers woken:      ${s.wakes} (by new commits on main)`,
    `time:               ${s.seconds} s`,
    '',
    'Look at the result:',
    `  cd ${shellQuote(r.repo)}`,
    '  git log --oneline --stat     # what the workers landed, one linear history',
    `  ${`${covenForUser()} issues`.padEnd(28)} # the plan left for you to review`,
    `(delete it when done: rm -rf ${shellQuote(dirname(r.repo))})`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------
// command line

const usage = `usage: coven demo [--real] [--dir DIR]

Shows coven at work on a tiny project, in under a minute: in a new temporary
repository it runs coven init, adds four issues (two approved, two new) and starts
three workers. You see dispatch choosing work, plans moving to review (the demo
plays the human and approves one), implementations landing, a rebase conflict
resolved by resuming the agent's session, workers sleeping, and a worker woken by a
new commit on main. Then a summary, and the repository to look at.

By default the agents are scripted stand-ins (a simulation: no login) for a mixed
team: dispatch on claude, plan on gemini, implement on codex, and on opencode when
codex's vendor refuses a job (quota), which it does once.

  --real      the same with the real claude CLI for every agent (your login;
              costs tokens; minutes)
  --dir DIR   build the demo in DIR (new or empty) instead of a temp folder

exit: 0 finished · 1 did not finish in time · 2 cannot start · 64 bad usage
`;

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine(argv, { command: 'coven demo', usage, boolean: ['real'], string: ['dir'] });
  if (cl.kind === 'exit') return cl.code;
  const args = cl.args;
  // the demo's git must not depend on the user's configuration (signing, hooks, …)
  Object.assign(process.env, { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' });
  // Ctrl-C: stop the workers cleanly (a second one: at once)
  const interrupt = new AbortController();
  const onSignal = () => (interrupt.signal.aborted ? process.exit(130) : interrupt.abort());
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const result = await runDemo({ dir: args.dir as string | undefined, real: Boolean(args.real), signal: interrupt.signal });
  if (result.kind === 'cannot-start') {
    process.stderr.write(`${result.message}\n`);
    return 2;
  }
  const say = prefixer((l) => process.stdout.write(`${l}\n`), 'demo');
  say(formatSummary(result, Boolean(args.real)));
  return result.kind === 'finished' ? 0 : 1;
}

runAsEntry(import.meta.url, main);
