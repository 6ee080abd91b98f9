// agent-clis bench — each real agent CLI against its local mock of the model API, for a
// one-turn session ("say hi" → "hi"): start → first event, start → result and start →
// exit for the CLI spawned directly (the command line its adapter gives it), against the
// same session through coven's session runner (startSession: first event = the session
// id is known, result = the outcome). Medians of 5 after one warm-up run of each, the
// two ways taken in turns; ratios runner / alone. The CLIs come from the cache
// (test/real-cli/install-cli.ts: installed once when missing); a CLI that cannot be
// installed because the registry is unreachable is left out, saying so.
// Prints figures (and a markdown table for docs/benchmarks.md); asserts nothing.
//
//   env:  COVEN_BENCH_RUNS  runs per way (default 5) · COVEN_BENCH_CLIS  e.g. "claude,codex"

import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { CLI_NAMES, isCliName, type CliName } from '../scripts/lib/clis/adapter.js';
import { adapterFor } from '../scripts/lib/clis/index.js';
import { startSession, type SessionOptions } from '../scripts/lib/session/runner.js';
import { CLI_TITLES, installCli } from '../test/real-cli/install-cli.js';
import { tempRepo } from '../test/helpers/repo.js';
import { BENCH_CLIS, PROMPT, type BenchCli, type Start } from './agent-clis-setup.js';

const RUNS = Math.max(1, Number(process.env.COVEN_BENCH_RUNS ?? 5));

/** One run's times, ms from the spawn (or from startSession). */
interface Times {
  first: number;
  result: number;
  exit: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Spawns the CLI as coven would, without coven: times its first JSON line, its result, its exit. */
function runDirect(bin: string, s: Start, cwd: string, env: NodeJS.ProcessEnv): Promise<Times> {
  const t0 = performance.now();
  const child = spawn(bin, s.args, { cwd, env: { ...env, ...s.env }, stdio: [s.stdin === null ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  const times: Partial<Times> = {};
  let pending = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      times.first ??= performance.now() - t0;
      if (times.result === undefined && s.isResult?.(line)) {
        times.result = performance.now() - t0;
        child.stdin?.end(); // a stream-json CLI waits for more input otherwise
      }
    }
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  if (s.stdin !== null) {
    child.stdin!.on('error', () => {});
    child.stdin!.write(s.stdin);
    if (!s.keepStdinOpen) child.stdin!.end();
  }
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => {
      const exit = performance.now() - t0;
      if (code !== 0 || times.first === undefined) return fail(new Error(`${bin} exited ${code}: ${stderr.slice(-500)}`));
      done({ first: times.first, result: times.result ?? exit, exit });
    });
  });
}

/** The same session through coven's session runner: first event = the session id is known; result = the outcome. */
async function runThroughRunner(opts: SessionOptions): Promise<Times> {
  const t0 = performance.now();
  const handle = startSession(opts);
  let first: number | undefined;
  const poll = setInterval(() => {
    if (first === undefined && handle.sessionId() !== undefined) first = performance.now() - t0;
  }, 1);
  const outcome = await handle.outcome;
  clearInterval(poll);
  const end = performance.now() - t0;
  if (outcome.kind !== 'success') throw new Error(`session failed: ${JSON.stringify(outcome).slice(0, 500)}`);
  return { first: first ?? end, result: end, exit: end };
}

/** The session runner's options for `cli`, or null while coven has no adapter for it in its index. */
function sessionOptions(cli: CliName, cwd: string, env: NodeJS.ProcessEnv): SessionOptions | null {
  return adapterFor(cli).kind === 'adapter' ? { cwd, prompt: PROMPT, env, cli } : null;
}

interface Row {
  cli: CliName;
  version: string;
  alone: Times;
  runner: Times | null;
}

const medianTimes = (ts: Times[]): Times => ({ first: median(ts.map((t) => t.first)), result: median(ts.map((t) => t.result)), exit: median(ts.map((t) => t.exit)) });

async function benchOne(b: BenchCli, bin: string, version: string): Promise<Row> {
  const repo = await tempRepo();
  const setup = await b.setup(bin);
  try {
    const direct = () => runDirect(bin, setup.start(repo), repo, setup.env);
    const opts = sessionOptions(b.cli, repo, setup.env);
    const viaRunner = opts ? () => runThroughRunner(opts) : null;
    await direct(); // warm-up: the first run in a fresh HOME writes its config
    await viaRunner?.();
    const alone: Times[] = [];
    const runner: Times[] = [];
    for (let i = 0; i < RUNS; i++) {
      alone.push(await direct());
      if (viaRunner) runner.push(await viaRunner());
    }
    return { cli: b.cli, version, alone: medianTimes(alone), runner: viaRunner ? medianTimes(runner) : null };
  } finally {
    await setup.close();
  }
}

function table(rows: Row[]): string {
  const s = (ms: number | undefined): string => (ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`);
  const x = (a: number | undefined, b: number): string => (a === undefined ? '–' : `×${(a / b).toFixed(2)}`);
  const lines = [
    '| CLI | alone: first event | alone: result | alone: exit | runner: first event | runner: outcome | first event × | outcome × (vs exit) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(`| ${CLI_TITLES[r.cli]} ${r.version} | ${s(r.alone.first)} | ${s(r.alone.result)} | ${s(r.alone.exit)} | ${s(r.runner?.first)} | ${s(r.runner?.result)} | ${x(r.runner?.first, r.alone.first)} | ${x(r.runner?.result, r.alone.exit)} |`);
  }
  return lines.join('\n');
}

const wanted = process.env.COVEN_BENCH_CLIS?.split(',').map((s) => s.trim()).filter(isCliName) ?? [...CLI_NAMES];
const rows: Row[] = [];
const loadBefore = loadavg()[0]!;
for (const cli of wanted) {
  const install = await installCli(cli);
  if (install.kind === 'unavailable') {
    console.log(`${CLI_TITLES[cli]}: left out: ${install.reason}`);
    continue;
  }
  const row = await benchOne(BENCH_CLIS[cli], install.bin, install.version);
  rows.push(row);
  const ms = (n: number | undefined): string => (n === undefined ? '–' : `${n.toFixed(0)} ms`);
  console.log(`${CLI_TITLES[cli]} ${install.version}: alone first event ${ms(row.alone.first)}, result ${ms(row.alone.result)}, exit ${ms(row.alone.exit)}; through the session runner first event ${ms(row.runner?.first)}, outcome ${ms(row.runner?.result)}`);
}
console.log(`\nmedian of ${RUNS}, 1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after\n${table(rows)}`);
