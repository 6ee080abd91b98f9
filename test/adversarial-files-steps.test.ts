// Adversarial pass (issue 11), hostile files: the files one step hands the next (a
// decision, a session record, the --out a step writes) and the templates `coven init`
// copies. Each is named when it is bad, never a hang, a stack trace or a half-done job.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempDir, tempRepo } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog } from './helpers/fake-claude.js';
import { readDecisionFile } from '../scripts/lib/steps/decision-file.js';
import { initRepo } from '../scripts/init.js';

const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);
const hangLimit = 20_000;

function decisionJson(worktree: string, more: Record<string, unknown> = {}): Record<string, unknown> {
  return { coven: 'decision/1', kind: 'run', agent: 'plan', args: { issue: 'issues/a.md' }, reasoning: '', worktree, worker: 'w1', main_tip: '', session_id: null, cost_usd: 0, corrections: 0, at: new Date().toISOString(), ...more };
}

async function workerWorktree(): Promise<{ repo: string; wt: string }> {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const wt = join(tempDir('coven-wt-'), 'w1');
  await sh(repo, 'worktree', 'add', '-q', '-b', 'coven/w1', wt);
  return { repo, wt };
}

// ---- the files one step hands the next --------------------------------------------

test('a decision file that is a FIFO, or over 256 KiB: run-agent and wait name it and exit, nothing run, no hang', async () => {
  const { wt } = await workerWorktree();
  const dir = tempDir('coven-step-');
  const fifo = join(dir, 'decision.json');
  execFileSync('mkfifo', [fifo]);
  const big = join(dir, 'big.json');
  writeFileSync(big, JSON.stringify(decisionJson(wt, { reasoning: 'r'.repeat(300 * 1024) })));
  const env = fakeClaudeEnv(null);
  for (const file of [fifo, big]) {
    const r = await coven(['run-agent', '--decision', file, '--out', join(dir, 'session.json')], { cwd: wt, env, timeoutMs: hangLimit });
    assert.is(r.code, 6, r.stdout + r.stderr);
    assert.match(r.stderr, file === fifo ? /decision\.json: is a FIFO, not a regular file/ : /big\.json: \d+ bytes, over the limit of 262144/);
    assert.match(r.stderr, /Nothing was run/);
    noStack(r.stderr);
    const w = await coven(['wait', '--decision', file], { cwd: wt, timeoutMs: hangLimit });
    assert.is(w.code, 2, w.stdout + w.stderr);
    assert.match(w.stderr, /cannot wait: .*(FIFO|over the limit)/);
  }
  assert.is(readFakeLog(env).length, 0, 'the agent CLI was started');
});

test('a session record that is a FIFO, or over 256 KiB: resolve names it and changes nothing', async () => {
  const { wt } = await workerWorktree();
  const dir = tempDir('coven-step-');
  const fifo = join(dir, 'session.json');
  execFileSync('mkfifo', [fifo]);
  const big = join(dir, 'big.json');
  writeFileSync(big, `{"coven": "session/1", "detail": "${'d'.repeat(300 * 1024)}"}`);
  for (const file of [fifo, big]) {
    const r = await coven(['resolve', '--session', file], { cwd: wt, timeoutMs: hangLimit });
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /bad session record: .*(is a FIFO, not a regular file|over the limit of 262144)/);
    assert.match(r.stderr, /Nothing was changed/);
    noStack(r.stderr);
  }
});

test('a decision with duplicate keys, a number over the double range, a __proto__ key and deep nesting: read as JSON says, validated, never a crash', async () => {
  const dir = tempDir('coven-step-');
  const wt = '/somewhere/w1';
  const file = join(dir, 'd.json');
  // the last of duplicate keys counts (JSON.parse); the validated value is what runs
  writeFileSync(file, JSON.stringify(decisionJson(wt)).replace('"agent":"plan"', '"agent":"plan","agent":"implement"'));
  const dup = await readDecisionFile(file);
  assert.is(dup.kind === 'read' && dup.decision.kind === 'run' ? dup.decision.agent : dup.kind, 'implement');
  writeFileSync(file, JSON.stringify(decisionJson(wt)).replace('"cost_usd":0', '"cost_usd":1e309'));
  const huge = await readDecisionFile(file);
  assert.is(huge.kind, 'bad');
  if (huge.kind === 'bad') assert.match(huge.problem, /d\.json: not a decision file: cost_usd: /);
  // a "__proto__" key is dropped: it never becomes the prototype of the arguments, nor of anything else
  writeFileSync(file, JSON.stringify(decisionJson(wt, { args: {} })).replace('"args":{', '"args":{"__proto__":{"issue":"x","polluted":"yes"}'));
  const proto = await readDecisionFile(file);
  assert.is(proto.kind, 'read');
  if (proto.kind === 'read' && proto.decision.kind === 'run') {
    assert.equal(Object.keys(proto.decision.args), []);
    assert.is(Object.getPrototypeOf(proto.decision.args), Object.prototype);
    assert.is(proto.decision.args.issue, undefined);
  }
  assert.is(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was polluted');
  writeFileSync(file, JSON.stringify(decisionJson(wt)).replace('"reasoning":""', `"reasoning":""${',"x":'}${'['.repeat(100_000)}${']'.repeat(100_000)}`));
  const deep = await readDecisionFile(file);
  assert.is(deep.kind, 'read', 'a deeply nested unknown key broke the reader');
});

test('run-agent --out naming a folder: refused before the agent runs (not a crash after it)', async () => {
  const { wt } = await workerWorktree();
  const dir = tempDir('coven-step-');
  const decision = join(dir, 'decision.json');
  writeFileSync(decision, JSON.stringify(decisionJson(wt)));
  const out = join(dir, 'out');
  mkdirSync(join(out, 'inside'), { recursive: true });
  const env = fakeClaudeEnv([{ steps: [{ text: 'planned' }] }]);
  const r = await coven(['run-agent', '--decision', decision, '--out', out], { cwd: wt, env, timeoutMs: 60_000 });
  noStack(r.stdout + r.stderr);
  assert.is(r.code, 64, r.stdout + r.stderr);
  assert.match(r.stderr, /--out .*out is a folder/);
  assert.is(readFakeLog(env).length, 0, 'the agent ran although its record could not be written');
  assert.equal(readdirSync(out), ['inside']);
});

test('dispatch --out naming a folder: refused before the dispatch session runs', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const out = join(tempDir('coven-step-'), 'out');
  mkdirSync(out);
  const env = fakeClaudeEnv([{ steps: [{ text: '<dispatch>\nsleep: nothing\n</dispatch>' }] }]);
  const r = await coven(['dispatch', '--out', out, '--worker', 'w1'], { cwd: repo, env, timeoutMs: 60_000 });
  noStack(r.stdout + r.stderr);
  assert.is(r.code, 64, r.stdout + r.stderr);
  assert.match(r.stderr, /--out .*out is a folder/);
  assert.is(readFakeLog(env).length, 0, 'the dispatch session ran although its decision could not be written');
});

// ---- coven init's templates -------------------------------------------------------

function templatesWith(bad: (dir: string) => void): string {
  const dir = tempDir('coven-templates-');
  for (const f of ['agents/dispatch.md', 'agents/plan.md', 'agents/implement.md', 'agents/audit.md', 'workflow.md', 'issues/example.md', 'claude-md-line.md']) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), f === 'claude-md-line.md' ? 'See .coven/workflow.md\n' : `---\ndescription: ${f}\n---\nDo it.\n`);
  }
  bad(dir);
  return dir;
}

test('init with a template that is a FIFO, or over 1 MiB: a typed refusal naming it, and nothing written', async () => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    ['fifo', (d) => { execFileSync('rm', [join(d, 'agents/implement.md')]); execFileSync('mkfifo', [join(d, 'agents/implement.md')]); }, /agents\/implement\.md: is a FIFO, not a regular file/],
    ['big', (d) => writeFileSync(join(d, 'workflow.md'), 'w'.repeat(1024 * 1024 + 1)), /workflow\.md: 1048577 bytes, over the limit of 1048576/],
  ];
  for (const [name, bad, expected] of cases) {
    const repo = await tempRepo();
    const started = Date.now();
    let result: Awaited<ReturnType<typeof initRepo>> | Error;
    try {
      result = await initRepo({ dir: repo, hooks: false, templates: templatesWith(bad) });
    } catch (err) {
      result = err as Error;
    }
    assert.ok(Date.now() - started < hangLimit, `${name}: init hung`);
    assert.not.instance(result, Error, `${name}: init threw: ${String(result)}`);
    if (result instanceof Error) continue;
    assert.is(result.kind, 'bad-template', `${name}: ${JSON.stringify(result)}`);
    if (result.kind === 'bad-template') assert.match(result.problem, expected);
    assert.not.ok(existsSync(join(repo, '.coven')), `${name}: init wrote some files before it found the bad template`);
    assert.not.ok(existsSync(join(repo, 'CLAUDE.md')), `${name}: CLAUDE.md written`);
  }
});

test('init when the repository\'s CLAUDE.md is a FIFO or over 1 MiB: no hang, the file is left as it is and the report says why', async () => {
  const repo = await tempRepo();
  execFileSync('mkfifo', [join(repo, 'CLAUDE.md')]);
  const r = await coven(['init', '--no-hooks'], { cwd: repo, timeoutMs: hangLimit });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /skipped\s+CLAUDE\.md \(not read: is a FIFO, not a regular file\)/);
  const big = await tempRepo();
  writeFileSync(join(big, 'CLAUDE.md'), 'c'.repeat(1024 * 1024 + 10));
  const b = await coven(['init', '--no-hooks'], { cwd: big, timeoutMs: hangLimit });
  assert.is(b.code, 0, b.stdout + b.stderr);
  assert.match(b.stdout, /skipped\s+CLAUDE\.md \(not read: \d+ bytes, over the limit of 1048576\)/);
  assert.is(readFileSync(join(big, 'CLAUDE.md'), 'utf8').length, 1024 * 1024 + 10);
});

test.run();
