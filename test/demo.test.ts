import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempDir } from './helpers/repo.js';
import { readFakeLog } from './helpers/fake-claude.js';

test('coven demo tells the whole story in a new repository and leaves nothing running', async () => {
  const dir = join(tempDir('coven-demo-test-'), 'demo');
  const r = await coven(['demo', '--dir', dir], { timeoutMs: 150_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  const out = r.stdout;
  assert.match(out, /SIMULATION: scripted stand-ins play claude, codex, gemini and opencode/);
  assert.match(out, /a mixed team: dispatch on claude, plan on gemini, implement on codex, then opencode/);
  // every line is labelled with who says it
  for (const line of out.trimEnd().split('\n')) assert.match(line, /^(demo|amber-fox|brave-otter|calm-heron) +│ /, line);
  // the story: dispatch, plans to review, an approval, a conflict resolved by resume, sleeps, a wake
  assert.match(out, /── running plan \(issue: issues\/shout-flag\.md\) on gemini ──/);
  assert.match(out, /── resolving implement \(issue: issues\/add-(german\.md\) on codex|french\.md\) on opencode \(codex refused: quota\)) ──/);
  // the mixed team: each job's header names its CLI; Codex's vendor refuses the French job, opencode takes it over
  assert.match(out, /── running implement \(issue: issues\/add-german\.md\) on codex ──/);
  assert.match(out, /── running implement \(issue: issues\/add-french\.md\) on codex ──/);
  assert.match(out, /coven: codex refused the implement session \(quota: Quota exceeded\.[^\n]*\); implement goes on with opencode in the same worktree/);
  assert.match(out, /── running implement \(issue: issues\/add-french\.md\) on opencode \(codex refused: quota\) ──/);
  assert.match(out, /── running implement \(issue: review\/shout-flag\.md\) on codex ──/);
  assert.match(out, /sleeps: 2 plans wait for human review/);
  assert.match(out, /Playing the human: approving review\/shout-flag\.md/);
  assert.match(out, /moved \(now [0-9a-f]{10}\); \S+ wakes up/);
  // the summary
  assert.match(out, /jobs run: +5 \(3 implement, 2 plan\)/);
  assert.match(out, /sessions per CLI: +3 implement on codex, 1 implement on opencode, 2 plan on gemini\n/);
  assert.equal(out.match(/CLI changed: .*/g), ['CLI changed:        implement on opencode (codex refused: quota), in the same worktree']);
  assert.match(out, /commits landed: +5\n/);
  assert.match(out, /conflicts resolved: 1 of 1 /);
  const woken = Number(/workers woken: +(\d+)/.exec(out)?.[1]);
  assert.ok(woken >= 1, `woken: ${woken}`);
  assert.match(out, /time: +[\d.]+ s/);

  const repo = join(dir, 'hello');
  assert.match(out, new RegExp(`cd ${repo.replace(/[/.]/g, '\\$&')}\n`));
  // main: one linear history with every job's commit, and code that works
  assert.is(await sh(repo, 'rev-list', '--merges', 'main'), '');
  const subjects = (await sh(repo, 'log', '--format=%s', 'main')).split('\n');
  for (const s of ['Greet in French too', 'Greet in German too', 'plan: Say in the README how to run it', 'plan: A --shout flag', 'approve the plan of shout-flag', 'A --shout flag']) assert.ok(subjects.includes(s), s);
  assert.match(readFileSync(join(repo, 'hello.js'), 'utf8'), /^const greetings = \['Hello', 'Bonjour', 'Hallo'\];$/m);
  assert.is(execFileSync(process.execPath, ['hello.js', '--shout'], { cwd: repo, encoding: 'utf8' }).trim(), 'HELLO · BONJOUR · HALLO');
  assert.is(execFileSync(process.execPath, ['test.js'], { cwd: repo, encoding: 'utf8' }).trim(), 'ok');
  assert.is(existsSync(join(repo, 'issues')), false); // every issue file moved to review/ or was deleted when done
  assert.equal(readdirSync(join(repo, 'review')).filter((n) => n.endsWith('.md')), ['readme-usage.md']);
  assert.match(readFileSync(join(repo, 'review', 'readme-usage.md'), 'utf8'), /^state: review$/m);
  assert.is(await sh(repo, 'status', '--porcelain'), '');

  // every CLI ran what the team gives it: dispatch on claude, plans on gemini, the jobs on codex, one on opencode
  const logOf = (cli: string) => readFakeLog({ FAKE_CLAUDE_LOG: join(dir, 'stand-in', cli === 'claude' ? 'log.jsonl' : `log-${cli}.jsonl`) });
  const byCli = { claude: logOf('claude'), codex: logOf('codex'), gemini: logOf('gemini'), opencode: logOf('opencode') };
  assert.ok(byCli.claude.length >= 5 && byCli.claude.every((c) => c.prompts[0]?.includes('You are the dispatcher')), 'claude ran the dispatches, and only them');
  assert.equal(byCli.gemini.map((c) => /`issues\/([a-z-]+)\.md`/.exec(c.prompts[0] ?? '')?.[1]).sort(), ['readme-usage', 'shout-flag']);
  assert.ok(byCli.gemini.every((c) => c.prompts[0]!.includes('You are the planning agent')));

  // the fallback: Codex was refused for quota, and opencode went on in the same worktree, told what came before
  const french = (c: { prompts: string[] }) => c.prompts[0]?.includes('`issues/add-french.md`') && c.prompts[0].includes('You are the implementing agent');
  const refused = byCli.codex.filter(french);
  assert.is(refused.length, 1);
  assert.is(refused[0]!.exitCode, 1);
  const takeover = byCli.opencode.filter(french);
  assert.is(takeover.length, 1);
  assert.is(takeover[0]!.cwd, refused[0]!.cwd);
  assert.match(takeover[0]!.prompts[0]!, /## Before you\n\nA Codex session worked on this before and stopped because its quota ran out \(Quota exceeded[^)]*\); its uncommitted changes \(hello\.js\) are kept in this worktree/);
  assert.is(takeover[0]!.exitCode, 0);

  // the conflict was resolved by resuming the implementer's own session, on its CLI, in its worktree
  const calls = [...byCli.codex, ...byCli.opencode];
  const resolve = calls.filter((c) => c.prompts[0]?.includes('rebase conflict'));
  assert.is(resolve.length, 1);
  assert.ok(resolve[0]!.resumed);
  const job = calls.find((c) => c.sessionId === resolve[0]!.sessionId && !c.resumed)!;
  assert.ok(job.prompts[0]!.includes('You are the implementing agent'));
  assert.is(resolve[0]!.cwd, job.cwd);
  assert.ok(resolve[0]!.argv.includes(job.sessionId!), resolve[0]!.argv.join(' '));
  assert.is(byCli.codex.includes(resolve[0]!), byCli.codex.includes(job), 'the resume ran on the CLI of the session');

  // nothing left behind: no worktree, no worker branch, no worker state, no process
  assert.is((await sh(repo, 'worktree', 'list', '--porcelain')).split('\n').filter((l) => l.startsWith('worktree ')).length, 1);
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
  assert.equal(readdirSync(join(repo, '.git', 'coven', 'workers')), []);
  assert.ok(Object.values(byCli).flat().every((c) => c.endedAt !== ''));
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  assert.not.ok(ps.split('\n').some((l) => l.includes(dir)), 'a process still runs in the demo folder');
});

test('coven demo --real without claude says so, and creates nothing', async () => {
  const dir = join(tempDir('coven-demo-test-'), 'real');
  const r = await coven(['demo', '--real', '--dir', dir], { env: { PATH: tempDir('coven-empty-path-'), COVEN_CLAUDE: '' } });
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /coven demo --real runs the real Claude Code CLI, but there is no `claude` on PATH/);
  assert.match(r.stderr, /coven demo +\(the simulation: no claude needed\)/);
  assert.is(existsSync(dir), false);
});

test('coven demo refuses a folder that is not empty', async () => {
  const dir = tempDir('coven-demo-test-');
  mkdirSync(join(dir, 'x'));
  writeFileSync(join(dir, 'x', 'keep.txt'), 'mine');
  const r = await coven(['demo', '--dir', join(dir, 'x')]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /is not empty/);
  assert.equal(readdirSync(join(dir, 'x')), ['keep.txt']);
});

test.run();
