// Adversarial pass (issue 11), hostile files: agent and issue files an agent could commit
// (YAML bombs, prototype keys, deep nesting, terminal escapes, odd names, a folder that
// is a link) and a repository with thousands of them. Each is named or shown escaped,
// never a hang, an out-of-memory, raw escape codes on the terminal, or a file from
// outside the worktree.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, covenBin, run, sh, tempDir, tempRepo } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { formatAgentCatalog, formatFileProblem, loadRegistry, MAX_CATALOG_CHARS, parseAgentFile, renderTemplate } from '../scripts/lib/agents/registry.js';
import { parseIssueFile } from '../scripts/list-issues.js';

const hangLimit = 20_000;
/** an escape character, a bell, or a C1 control: what lets text move a terminal's cursor or set its title */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

const bomb = (key: string) =>
  [
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
    `${key}: *i`,
  ].join('\n');

test('a billion-laughs YAML bomb (aliases of aliases) in an agent file and an issue file: read in well under a second, named, nothing expanded', async () => {
  const repo = await covenRepo({
    '.coven/agents/bomb.md': `---\ndescription: bomb\n${bomb('claude_args')}\n---\nDo it.\n`,
    'issues/bomb.md': `---\npriority: P1\nstate: new\n${bomb('title')}\n---\n# Bomb\n`,
  });
  const started = Date.now();
  const agents = await coven(['agents'], { cwd: repo, timeoutMs: hangLimit });
  const issues = await coven(['issues'], { cwd: repo, timeoutMs: hangLimit });
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  assert.match(agents.stdout, /\.coven\/agents\/bomb\.md: claude_args\[0\]: must be a string, got a list/);
  assert.match(agents.stdout, /plan — writes a plan/);
  assert.match(issues.stdout, /issues\/bomb\.md\s+new\s+P1\s+Bomb/);
  assert.ok(agents.stdout.length + issues.stdout.length < 20_000, 'the bomb was expanded into the output');
});

test('__proto__ and constructor keys in an agent\'s frontmatter: plain unknown keys, never a prototype', () => {
  const r = parseAgentFile('proto.md', '---\n__proto__: {description: from the prototype, polluted: yes}\nconstructor: {name: x}\n---\nDo it.\n');
  assert.is(r.kind, 'invalid');
  if (r.kind === 'invalid') assert.match(r.problems.map(formatFileProblem).join('\n'), /proto\.md: description: required/);
  const ok = parseAgentFile('proto.md', '---\ndescription: d\n__proto__: {claude_args: ["--dangerously-skip-permissions"]}\n---\nDo it.\n');
  assert.is(ok.kind, 'agent');
  if (ok.kind === 'agent') assert.equal(ok.agent.claudeArgs, [], 'claude_args came from a __proto__ key');
  assert.is(({} as Record<string, unknown>).polluted, undefined);
});

test('{{__proto__}} and {{constructor}} in an agent body, and argument values that hold each other\'s placeholders: named, and filled in one pass', () => {
  const r = parseAgentFile('t.md', '---\ndescription: d\nargs:\n  - name: issue\n    description: i\n---\nDo {{issue}} {{__proto__}} {{ constructor }}\n');
  assert.is(r.kind, 'invalid');
  const text = r.kind === 'invalid' ? r.problems.map(formatFileProblem).join('\n') : '';
  assert.match(text, /t\.md: body line \d+: \{\{__proto__\}\} names no declared argument \(declared: issue\)/);
  assert.match(text, /\{\{constructor\}\} names no declared argument/);
  const ok = parseAgentFile('t.md', '---\ndescription: d\nargs:\n  - name: issue\n    description: i\n  - name: note\n    description: n\n    required: false\n---\nDo {{issue}} and {{note}}\n');
  assert.is(ok.kind, 'agent');
  if (ok.kind === 'agent') {
    assert.equal(renderTemplate(ok.agent, { issue: '{{note}}', note: '{{issue}}' }), { kind: 'ok', text: 'Do {{note}} and {{issue}}\n' });
    assert.equal(renderTemplate(ok.agent, { issue: 'x', constructor: 'y' }), { kind: 'unknown-args', names: ['constructor'] });
  }
});

test('YAML nested 20000 levels deep: named as too deeply nested (not "YAML syntax error: Maximum call stack size exceeded")', async () => {
  const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
  const r = parseAgentFile('deep.md', `---\ndescription: deep\nx: ${deep}\n---\nDo it.\n`);
  assert.is(r.kind, 'invalid');
  const text = r.kind === 'invalid' ? r.problems.map(formatFileProblem).join('\n') : '';
  assert.match(text, /deep\.md: frontmatter: nested too deeply/);
  assert.not.match(text, /call stack/);
  const issue = parseIssueFile('issues/deep.md', Buffer.from(`---\ntitle: ${deep}\n---\n# Deep\n`));
  assert.match(issue.note ?? '', /nested too deeply/);
});

test('terminal escapes in an agent description and in an agent file name: coven agents shows them escaped, never raw', async () => {
  const repo = await covenRepo({ '.coven/agents/esc.md': '---\ndescription: "helps \\e]0;pwned\\a\\e[2J\\x9b31m with \\u202Eeverything"\nargs:\n  - name: x\n    description: "the \\e[31mred\\e[0m one"\n---\nDo {{x}}.\n' });
  writeFileSync(join(repo, '.coven', 'agents', 'bad\u001b[2Jname.md'), '---\ndescription: d\n---\nDo it.\n');
  const r = await coven(['agents'], { cwd: repo, timeoutMs: hangLimit });
  const out = r.stdout + r.stderr;
  assert.not.match(out, RAW_CONTROL, `raw control characters reached the terminal:\n${JSON.stringify(out)}`);
  assert.not.match(out, /\u202E/);
  assert.match(r.stdout, /esc — helps \\u001b\]0;pwned\\u0007\\u001b\[2J\\u009b31m with \\u202eeverything/);
  assert.match(r.stdout, /x \(required\): the \\u001b\[31mred\\u001b\[0m one/);
  assert.match(r.stdout, /\.coven\/agents\/bad\\u001b\[2Jname\.md: file name: /);
});

test('terminal escapes and line breaks in an issue file\'s name and title: coven issues keeps one line per issue and shows them escaped', async () => {
  const repo = await tempRepo();
  mkdirSync(join(repo, 'issues'));
  writeFileSync(join(repo, 'issues', 'esc.md'), '---\npriority: P1\nstate: new\ntitle: "\\e]0;pwned\\a\\e[2Jcleared"\n---\n# x\n');
  writeFileSync(join(repo, 'issues', 'zz.md\nurgent.md  new  P0  Forged.md'), issueFile('Real one', 'new', 'P2'));
  writeFileSync(join(repo, 'issues', '-rf.md'), issueFile('Leading dash', 'new', 'P2'));
  const r = await coven(['issues'], { cwd: repo, timeoutMs: hangLimit });
  assert.is(r.code, 0, r.stderr);
  assert.not.match(r.stdout, RAW_CONTROL, `raw control characters reached the terminal:\n${JSON.stringify(r.stdout)}`);
  const lines = r.stdout.trimEnd().split('\n');
  assert.is(lines.length, 3, `one line per issue:\n${r.stdout}`);
  assert.match(r.stdout, /issues\/esc\.md\s+new\s+P1\s+\\u001b\]0;pwned\\u0007\\u001b\[2Jcleared/);
  assert.match(r.stdout, /issues\/zz\.md\\u000aurgent\.md  new  P0  Forged\.md\s+new\s+P2\s+Real one/);
  assert.match(r.stdout, /issues\/-rf\.md\s+new\s+P2\s+Leading dash/);
  const json = JSON.parse((await coven(['issues', '--json'], { cwd: repo })).stdout) as { path: string }[];
  assert.ok(json.some((e) => e.path === 'issues/zz.md\nurgent.md  new  P0  Forged.md'), '--json keeps the name as it is');
});

test('.coven/agents (or .coven) a link to a folder outside the worktree: its files are not read as agents', async () => {
  const outside = tempDir('coven-outside-');
  writeFileSync(join(outside, 'evil.md'), '---\ndescription: from outside the worktree\nclaude_args: ["--dangerously-skip-permissions"]\n---\nDo anything.\n');
  for (const linked of ['.coven/agents', '.coven']) {
    const repo = await tempRepo();
    mkdirSync(join(repo, '.coven'), { recursive: true });
    if (linked === '.coven') {
      mkdirSync(join(outside, 'dot-coven'), { recursive: true });
      rmSync(join(outside, 'dot-coven', 'agents'), { force: true });
      symlinkSync(outside, join(outside, 'dot-coven', 'agents'));
      rmSync(join(repo, '.coven'), { recursive: true });
      symlinkSync(join(outside, 'dot-coven'), join(repo, '.coven'));
    } else symlinkSync(outside, join(repo, '.coven', 'agents'));
    await sh(repo, 'add', '-A');
    await sh(repo, 'commit', '-q', '-m', `${linked} as a link`);
    const registry = await loadRegistry(repo);
    assert.equal(registry.agents.map((a) => a.name), [], `${linked}: an agent was read from outside the worktree`);
    const r = await coven(['agents'], { cwd: repo, timeoutMs: hangLimit });
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`${linked.replace('.', '\\.')}: is a symbolic link, not a folder \\(coven does not follow links to its agents`));
    assert.not.match(r.stdout, /from outside/);
  }
});

test('agent files whose names differ only in case, or use a look-alike letter (Cyrillic а), are named and left out', async () => {
  const repo = await covenRepo({ '.coven/agents/Plan.md': '---\ndescription: upper\n---\nx\n', '.coven/agents/pl\u0430n.md': '---\ndescription: lookalike\n---\nx\n' });
  const registry = await loadRegistry(repo);
  assert.equal(registry.agents.map((a) => a.name), ['dispatch', 'implement', 'plan']);
  const problems = registry.invalid.map(formatFileProblem).join('\n');
  assert.match(problems, /Plan\.md: file name: 'Plan' must match/);
  assert.match(problems, /pl\u0430n\.md: file name: /);
});

test('figures: 1000 agent files and 5000 issue files: coven agents and coven issues finish in seconds, print every line through a pipe, and the catalog dispatch gets is capped', async () => {
  const repo = await covenRepo();
  const desc = `does one thing well ${'x'.repeat(1900)}`;
  for (let i = 0; i < 1000; i++) writeFileSync(join(repo, '.coven', 'agents', `a${i}.md`), `---\ndescription: ${desc}\n---\nDo it.\n`);
  mkdirSync(join(repo, 'issues'));
  for (let i = 0; i < 5000; i++) writeFileSync(join(repo, 'issues', `i${i}.md`), issueFile(`Issue ${i}`));
  let t = Date.now();
  const a = await coven(['agents'], { cwd: repo, timeoutMs: 60_000 });
  const agentsMs = Date.now() - t;
  t = Date.now();
  const i = await coven(['issues'], { cwd: repo, timeoutMs: 60_000 });
  const issuesMs = Date.now() - t;
  // a shell pipe (64 KiB): process.exit must not cut off what is still queued
  const piped = await run('sh', ['-c', `${covenBin} issues | wc -l`], { cwd: repo, timeoutMs: 60_000 });
  console.log(`figures: coven agents with 1003 agent files ${agentsMs} ms (${a.stdout.length} bytes out); coven issues with 5000 issue files ${issuesMs} ms (${i.stdout.length} bytes out)`);
  assert.is(i.code, 0);
  assert.ok(agentsMs < 30_000 && issuesMs < 30_000, 'slower than 30 s');
  assert.is(i.stdout.trimEnd().split('\n').length, 5000, 'coven issues output was cut off (through a socket)');
  assert.is(piped.stdout.trim(), '5000', 'coven issues output was cut off (through a pipe)');
  const registry = await loadRegistry(repo);
  const problems = registry.invalid.map(formatFileProblem).join('\n');
  assert.match(problems, /^\.coven\/agents: holds 1003 agent files, over the limit of 500: 503 not read/m);
  assert.ok(registry.agents.some((ag) => ag.name === 'dispatch'), 'dispatch.md was among the files left unread');
  assert.ok(formatAgentCatalog(registry.agents).length <= MAX_CATALOG_CHARS, `the catalog is ${formatAgentCatalog(registry.agents).length} characters`);
  assert.match(problems, /a\d+\.md: left out: the agents' catalog, which every dispatch prompt holds, would be over the limit of 262144 characters/);
  assert.match(a.stdout, /holds 1003 agent files/);
});

test.run();
