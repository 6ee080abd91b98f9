import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { coven, covenBin, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile, testAgents } from './helpers/coven-repo.js';
import { assertFakeRunsOk, fakeClaudeEnv, readFakeLog, writeFakeScript, type FakeRun } from './helpers/fake-claude.js';

/** A repo with one issue and a spawned worker worktree (branch coven/w1); the fake runs `script`. */
async function setUp(script: FakeRun[] | null, extra: Record<string, string> = {}) {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a', 'approved'), ...extra });
  const base = tempDir('coven-wt-');
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: base };
  const spawned = await coven(['spawn', 'coven/w1'], { cwd: repo, env });
  assert.is(spawned.code, 0, spawned.stderr);
  const wt = spawned.stdout.trim().split('\n').pop()!;
  const dir = tempDir('coven-steps-');
  return { repo, env, wt, decision: join(dir, 'decision.json'), record: join(dir, 'session.json') };
}

type Setup = Awaited<ReturnType<typeof setUp>>;

/** Writes a decision file by hand: a run of `agent` with `args` for the worktree (fields overridable). */
function writeDecision(s: Setup, fields: Record<string, unknown>): void {
  const d = { coven: 'decision/1', kind: 'run', agent: 'implement', args: { issue: 'issues/a.md' }, reasoning: '', worktree: s.wt, worker: 'w1', main_tip: '', session_id: null, cost_usd: 0, corrections: 0, at: new Date().toISOString(), ...fields };
  writeFileSync(s.decision, JSON.stringify(d));
}

const runAgent = (s: Setup, ...extra: string[]) => coven(['run-agent', '--decision', s.decision, '--out', s.record, ...extra], { cwd: s.wt, env: s.env });

const implementA: FakeRun = {
  match: { promptIncludes: 'Implement the issue in issues/a.md' },
  steps: [{ write: { path: 'a.txt', content: 'fixed\n' } }, { commit: 'a: fix' }],
  result: { cost_usd: 0.25 },
};

test('a decision from coven dispatch: run-agent runs that agent in the worktree and records the session', async () => {
  const s = await setUp([{ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: 'a is approved.\n<dispatch>\nagent: implement\nissue: issues/a.md\n</dispatch>' }] }, implementA]);
  const tip = await sh(s.repo, 'rev-parse', 'main');
  const d = await coven(['dispatch', '--out', s.decision, '--worker', 'w1'], { cwd: s.wt, env: s.env });
  assert.is(d.code, 0, d.stderr);
  const decision = JSON.parse(readFileSync(s.decision, 'utf8'));
  assert.equal([decision.coven, decision.kind, decision.worktree, decision.worker, decision.main_tip], ['decision/1', 'run', s.wt, 'w1', tip]);

  const r = await runAgent(s);
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /implement \(issue: issues\/a\.md\) finished; its commits are on coven\/w1/);
  const calls = assertFakeRunsOk(s.env);
  const job = calls.find((c) => c.prompts[0]?.includes('Implement the issue'))!;
  assert.is(job.cwd, s.wt);
  const rec = JSON.parse(readFileSync(s.record, 'utf8'));
  assert.equal(
    [rec.coven, rec.agent, rec.args, rec.cli_args, rec.session_id, rec.cwd, rec.branch, rec.worker, rec.outcome, rec.cost_usd, rec.kept],
    ['session/1', 'implement', { issue: 'issues/a.md' }, ['--allowedTools=Bash(git *),Read,Edit,Write'], job.sessionId, s.wt, 'coven/w1', 'w1', 'success', 0.25, []],
  );
  assert.is(await sh(s.wt, 'log', '-1', '--format=%s', 'coven/w1'), 'a: fix');
  assert.is(await sh(s.repo, 'rev-parse', 'main'), tip, 'nothing lands: that is coven land');
});

test('a sleep decision: exit 10, nothing run, no record', async () => {
  const s = await setUp(null);
  writeDecision(s, { kind: 'sleep', reason: 'nothing approved', agent: undefined, args: undefined });
  const r = await runAgent(s);
  assert.is(r.code, 10, r.stderr);
  assert.match(r.stdout, /is to sleep \(nothing approved\); nothing was run/);
  assert.is(existsSync(s.record), false);
  assert.equal(readFakeLog(s.env), []);
});

const refusals: [string, Record<string, unknown> | string, RegExp][] = [
  ['not JSON', '{"kind": "run",', /decision\.json: is not JSON/],
  ['a field of the wrong type', { args: { issue: 42 } }, /decision\.json: not a decision file: args\.issue: /],
  ['no worktree field', { worktree: undefined }, /decision\.json: not a decision file: worktree: /],
  ['a worker name that is a path', { worker: '../../etc' }, /decision\.json: not a decision file: worker: is not a worker name/],
  ['an agent the registry does not have', { agent: 'deploy' }, /refused by .*\.coven\/agents:\n.*no agent named "deploy"/],
  ['the dispatch agent itself', { agent: 'dispatch', args: {} }, /"dispatch" cannot choose itself/],
  ['an argument the agent does not declare', { args: { issue: 'issues/a.md', force: 'yes' } }, /agent "implement" has no argument "force"/],
  ['a required argument missing', { args: {} }, /issue/],
  ['a value with a terminal escape', { args: { issue: 'issues/a.md\u001b[2J' } }, /plain single-line text/],
  ['another worktree', { worktree: '/tmp' }, /was made for the worktree \/tmp, not /],
];

test('a refused decision (bad file, unknown agent or arguments, another worktree): exit 6, named, nothing run', async () => {
  const s = await setUp(null);
  for (const [name, fields, message] of refusals) {
    if (typeof fields === 'string') writeFileSync(s.decision, fields);
    else writeDecision(s, fields);
    const r = await runAgent(s);
    assert.is(r.code, 6, `${name}: ${r.stderr}${r.stdout}`);
    assert.match(r.stderr, message, name);
    assert.match(r.stderr, /Nothing was run/, name);
    assert.equal(readFakeLog(s.env), [], name);
    assert.is(existsSync(s.record), false, name);
  }
});

test('a session that fails: exit 5, the record says how (by its events) and what it cost; its commits stay', async () => {
  const s = await setUp([{ steps: [{ write: { path: 'a.txt', content: 'half\n' } }, { commit: 'a: half' }], api_error: { status: 500 } }]);
  writeDecision(s, {});
  const r = await runAgent(s);
  assert.is(r.code, 5, r.stderr + r.stdout);
  assert.match(r.stderr, /the session of implement \(issue: issues\/a\.md\) did not succeed \(agent-error\)/);
  assert.match(r.stderr, /Whatever it committed stays on coven\/w1/);
  const rec = JSON.parse(readFileSync(s.record, 'utf8'));
  assert.is(rec.outcome, 'agent-error');
  assert.ok(rec.session_id);
  assert.is(await sh(s.wt, 'log', '-1', '--format=%s'), 'a: half');
});

test('work left uncommitted after the same session was asked to commit it is saved under refs/coven/wip/ and listed in kept', async () => {
  const s = await setUp([
    { match: { promptIncludes: 'Implement the issue' }, steps: [{ write: { path: 'scratch.txt', content: 'x\n' } }, { text: 'Done, I think.' }] },
    { match: { promptIncludes: 'uncommitted changes' }, expect: { resume: true }, steps: [{ text: 'I will leave it.' }] },
  ]);
  writeDecision(s, {});
  const r = await runAgent(s);
  assert.is(r.code, 0, r.stderr + r.stdout);
  assertFakeRunsOk(s.env);
  const rec = JSON.parse(readFileSync(s.record, 'utf8'));
  assert.is(rec.kept.length, 1);
  assert.match(rec.kept[0], /^refs\/coven\/wip\/w1\//);
  assert.match(r.stderr, /left uncommitted changes \(scratch\.txt\); saved as refs\/coven\/wip\/w1\//);
  assert.match(r.stdout, /Work it left aside is kept as refs\/coven\/wip\/w1\//);
  assert.is(await sh(s.wt, 'status', '--porcelain'), '');
});

test('an agent with max_concurrency holds a slot while it runs, and frees it afterwards', async () => {
  const held = join(tempDir(), 'held');
  const slotOf = (repo: string) => join(repo, '.git', 'coven', 'locks', 'agent-implement.0');
  const limited = testAgents['implement.md']!.replace('description:', 'max_concurrency: 1\ndescription:');
  const s = await setUp([], { '.coven/agents/implement.md': limited });
  writeFakeScript(s.env, [{ ...implementA, steps: [{ bash: `test -e ${slotOf(s.repo)} && touch ${held}` }, ...implementA.steps!] }]);
  writeDecision(s, {});
  const r = await runAgent(s, '--', '--allowedTools=Bash');
  assert.is(r.code, 0, r.stderr + r.stdout);
  assertFakeRunsOk(s.env);
  assert.ok(existsSync(held), 'the slot was held during the session');
  assert.is(existsSync(slotOf(s.repo)), false);
});

test('Ctrl-C while the agent runs: the session is stopped, the record says aborted, exit 130', async () => {
  const s = await setUp([{ match: { promptIncludes: 'Implement the issue' }, steps: [{ write: { path: 'a.txt', content: 'begun\n' } }, { commit: 'a: begun' }, { sleep_ms: 60_000 }] }]);
  writeDecision(s, {});
  const child = spawn(process.execPath, [covenBin, 'run-agent', '--decision', s.decision, '--out', s.record], { cwd: s.wt, env: { ...process.env, ...s.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = new Promise<number | null>((resolve) => child.on('close', resolve));
  // the live view shows the commit command before git has made the commit: wait for the commit itself
  const committed = async () => (await sh(s.wt, 'log', '-1', '--format=%s')) === 'a: begun';
  for (let i = 0; i < 600 && !(await committed()); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(await committed(), out);
  child.kill('SIGINT');
  assert.is(await code, 130, out);
  const rec = JSON.parse(readFileSync(s.record, 'utf8'));
  assert.is(rec.outcome, 'aborted');
  assert.is(await sh(s.wt, 'log', '-1', '--format=%s'), 'a: begun', 'its commit stays on the branch');
});

test('usage: --decision and --out are required (64); outside a git work tree: exit 2', async () => {
  const s = await setUp(null);
  const missing = await coven(['run-agent', '--decision', s.decision], { cwd: s.wt, env: s.env });
  assert.is(missing.code, 64);
  assert.match(missing.stderr, /--out is required/);
  writeDecision(s, {});
  const outside = await coven(['run-agent', '--decision', s.decision, '--out', s.record], { cwd: tempDir(), env: s.env });
  assert.is(outside.code, 2, outside.stderr);
  assert.match(outside.stderr, /not inside a git work tree/);
  const help = await coven(['run-agent', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /^usage: coven run-agent --decision FILE --out FILE/);
});

test.run();
