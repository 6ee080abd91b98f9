import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatAgentCatalog,
  formatFileProblem,
  loadRegistry,
  parseAgentFile,
  renderTemplate,
  type AgentDef,
  type AgentFileResult,
} from '../scripts/lib/agents/registry.js';
import { tempDir } from './helpers/repo.js';

const planText = `---
description: Writes a plan for one issue and moves it to review/
args:
  - name: issue
    description: path of the issue file, e.g. issues/fix-scroll.md
    required: true
  - name: note
    description: a hint from dispatch
    required: false
max_concurrency: 1
claude_args: ["--allowedTools=Bash(git *),Read,Edit,Write"]
---
Plan the issue in {{issue}}.
Hint: {{ note }}
`;

function agentOf(r: AgentFileResult): AgentDef {
  if (r.kind !== 'agent') throw new Error(`expected a valid agent, got:\n${r.problems.map(formatFileProblem).join('\n')}`);
  return r.agent;
}

function problemsOf(r: AgentFileResult): string[] {
  if (r.kind !== 'invalid') throw new Error(`expected an invalid file, got agent ${r.agent.name}`);
  return r.problems.map(formatFileProblem);
}

test('the design example parses into a full agent definition', () => {
  const a = agentOf(parseAgentFile('plan.md', planText));
  assert.equal(
    { name: a.name, file: a.file, description: a.description, args: a.args, maxConcurrency: a.maxConcurrency, claudeArgs: a.claudeArgs, warnings: a.warnings },
    {
      name: 'plan',
      file: '.coven/agents/plan.md',
      description: 'Writes a plan for one issue and moves it to review/',
      args: [
        { name: 'issue', description: 'path of the issue file, e.g. issues/fix-scroll.md', required: true },
        { name: 'note', description: 'a hint from dispatch', required: false },
      ],
      maxConcurrency: 1,
      claudeArgs: ['--allowedTools=Bash(git *),Read,Edit,Write'],
      warnings: [],
    },
  );
  assert.is(a.body, 'Plan the issue in {{issue}}.\nHint: {{ note }}\n');
});

test('an argument is required unless it says required: false; optional fields are absent or empty', () => {
  const a = agentOf(parseAgentFile('x.md', '---\ndescription: d\nargs:\n  - name: issue\n    description: i\n---\nDo {{issue}}\n'));
  assert.equal(a.args, [{ name: 'issue', description: 'i', required: true }]);
  assert.is(a.maxConcurrency, undefined);
  assert.equal(a.claudeArgs, []);
  const b = agentOf(parseAgentFile('audit.md', '---\ndescription: audits\n---\nAudit the repository.\n'));
  assert.equal(b.args, []);
});

test('a BOM and CRLF line endings are accepted', () => {
  const a = agentOf(parseAgentFile('crlf.md', '\uFEFF---\r\ndescription: d\r\nargs:\r\n  - name: issue\r\n    description: i\r\n---\r\nDo {{issue}}\r\n'));
  assert.is(a.description, 'd');
  assert.is(a.body, 'Do {{issue}}\r\n');
});

// [what, file name, text, every expected `file: field: message` (as regexps, in order)]
const invalid: [string, string, string, RegExp[]][] = [
  ['no frontmatter at all', 'plan.md', 'Plan {{issue}}.\n', [/^\.coven\/agents\/plan\.md: frontmatter: missing: the file must start with a line '---'/]],
  ['an empty file', 'plan.md', '', [/plan\.md: frontmatter: missing/]],
  ['frontmatter that is never closed', 'plan.md', '---\ndescription: plans\nPlan it.\n', [/plan\.md: frontmatter: not closed: add a line '---'/]],
  ['only an opening line', 'plan.md', '---\n', [/plan\.md: frontmatter: not closed/]],
  ['a YAML syntax error, with its line', 'plan.md', '---\ndescription: [oops\n---\nbody\n', [/plan\.md: frontmatter: YAML syntax error at line \d+: /]],
  ['a duplicated key is a YAML error at its line', 'plan.md', '---\ndescription: a\ndescription: b\n---\nbody\n', [/plan\.md: frontmatter: YAML syntax error at line 3: duplicated mapping key/]],
  ['bad indentation is a YAML error at its line', 'plan.md', '---\ndescription: a\n  args: b\n---\nbody\n', [/plan\.md: frontmatter: YAML syntax error at line 3: /]],
  ['a non-YAML frontmatter language', 'plan.md', '---js\n{ description: "x" }\n---\nbody\n', [/plan\.md: frontmatter: language 'js' is not supported/]],
  ['frontmatter that is a list', 'plan.md', '---\n- a\n- b\n---\nbody\n', [/plan\.md: frontmatter: must be YAML "key: value" lines, got a list/]],
  ['frontmatter that is a bare string', 'plan.md', '---\nhello\n---\nbody\n', [/plan\.md: frontmatter: must be YAML "key: value" lines, got a string/]],
  ['description missing', 'plan.md', '---\nargs: []\n---\nbody\n', [/^\.coven\/agents\/plan\.md: description: required$/]],
  ['empty frontmatter', 'plan.md', '---\n---\nbody\n', [/plan\.md: description: required$/]],
  ['description empty in YAML (null)', 'plan.md', '---\ndescription:\n---\nbody\n', [/plan\.md: description: required$/]],
  ['description a number', 'plan.md', '---\ndescription: 42\n---\nbody\n', [/plan\.md: description: must be a string, got a number/]],
  ['description a list', 'plan.md', '---\ndescription: [a, b]\n---\nbody\n', [/plan\.md: description: must be a string, got a list/]],
  ['description blank', 'plan.md', '---\ndescription: "   "\n---\nbody\n', [/plan\.md: description: must not be empty/]],
  ['args not a list', 'plan.md', '---\ndescription: d\nargs: issue\n---\nbody\n', [/plan\.md: args: must be a list of \{name, description, required\}, got a string/]],
  ['args a mapping', 'plan.md', '---\ndescription: d\nargs:\n  issue: x\n---\nbody\n', [/plan\.md: args: must be a list .*got a mapping/]],
  ['an args entry that is a bare word', 'plan.md', '---\ndescription: d\nargs: [issue]\n---\nbody\n', [/plan\.md: args\[0\]: must be a mapping with name, description and required, got a string/]],
  ['an arg without a name', 'plan.md', '---\ndescription: d\nargs:\n  - description: i\n---\nbody\n', [/^\.coven\/agents\/plan\.md: args\[0\]\.name: required$/]],
  ['an arg without a description', 'plan.md', '---\ndescription: d\nargs:\n  - name: issue\n---\n{{issue}}\n', [/plan\.md: args\[0\]\.description: required$/]],
  ['an arg name in upper case', 'plan.md', '---\ndescription: d\nargs:\n  - name: Issue\n    description: i\n---\n{{Issue}}\n', [/plan\.md: args\[0\]\.name: must match \^\[a-z\]\[a-z0-9-\]\*\$/]],
  ['an arg name with a space', 'plan.md', '---\ndescription: d\nargs:\n  - name: my issue\n    description: i\n---\nx\n', [/plan\.md: args\[0\]\.name: must match/]],
  ['an arg name that is a path', 'plan.md', '---\ndescription: d\nargs:\n  - name: ../x\n    description: i\n---\nx\n', [/plan\.md: args\[0\]\.name: must match/]],
  ['an arg name with an underscore', 'plan.md', '---\ndescription: d\nargs:\n  - name: issue_path\n    description: i\n---\n{{issue_path}}\n', [/plan\.md: args\[0\]\.name: must match/]],
  ['an arg name that is a number', 'plan.md', '---\ndescription: d\nargs:\n  - name: 7\n    description: i\n---\nx\n', [/plan\.md: args\[0\]\.name: must be a string, got a number/]],
  [
    'duplicate arg names',
    'plan.md',
    '---\ndescription: d\nargs:\n  - name: issue\n    description: a\n  - name: other\n    description: b\n  - name: issue\n    description: c\n---\n{{issue}} {{other}}\n',
    [/plan\.md: args\[2\]\.name: duplicate argument 'issue' \(already args\[0\]\)/],
  ],
  ['required not a boolean', 'plan.md', '---\ndescription: d\nargs:\n  - name: issue\n    description: i\n    required: yes\n---\n{{issue}}\n', [/plan\.md: args\[0\]\.required: must be true or false, got a string/]],
  ['max_concurrency zero', 'plan.md', '---\ndescription: d\nmax_concurrency: 0\n---\nb\n', [/plan\.md: max_concurrency: must be a positive integer/]],
  ['max_concurrency negative', 'plan.md', '---\ndescription: d\nmax_concurrency: -2\n---\nb\n', [/plan\.md: max_concurrency: must be a positive integer/]],
  ['max_concurrency fractional', 'plan.md', '---\ndescription: d\nmax_concurrency: 1.5\n---\nb\n', [/plan\.md: max_concurrency: must be a positive integer/]],
  ['max_concurrency a word', 'plan.md', '---\ndescription: d\nmax_concurrency: two\n---\nb\n', [/plan\.md: max_concurrency: must be a positive integer, got a string/]],
  ['claude_args a string', 'plan.md', '---\ndescription: d\nclaude_args: --verbose\n---\nb\n', [/plan\.md: claude_args: must be a list of strings, got a string/]],
  ['claude_args with a number', 'plan.md', '---\ndescription: d\nclaude_args: ["--x", 3]\n---\nb\n', [/plan\.md: claude_args\[1\]: must be a string, got a number/]],
  [
    'a placeholder naming no declared argument, with its file line',
    'plan.md',
    '---\ndescription: d\nargs:\n  - name: issue\n    description: i\n---\nPlan {{issue}}.\n\nThen see {{ isue }}.\n',
    [/^\.coven\/agents\/plan\.md: body line 9: \{\{isue\}\} names no declared argument \(declared: issue\)$/],
  ],
  ['a placeholder in a file with no args', 'plan.md', '---\ndescription: d\n---\nPlan {{issue}}.\n', [/plan\.md: body line 4: \{\{issue\}\} names no declared argument \(declared: none\)/]],
  ['an empty body', 'plan.md', '---\ndescription: d\n---\n\n  \n', [/plan\.md: body: is empty/]],
  ['a file name in upper case', 'Plan.md', '---\ndescription: d\n---\nb\n', [/^\.coven\/agents\/Plan\.md: file name: 'Plan' must match \^\[a-z\]\[a-z0-9-\]\*\$.*rename the file$/]],
  ['a file name with a space', 'my plan.md', '---\ndescription: d\n---\nb\n', [/my plan\.md: file name: 'my plan' must match/]],
  ['a file name that climbs out of the directory', '../x.md', '---\ndescription: d\n---\nb\n', [/\.\.\/x\.md: file name: '\.\.\/x' must match/]],
  ['a file name starting with a digit', '1plan.md', '---\ndescription: d\n---\nb\n', [/1plan\.md: file name: '1plan' must match/]],
  ['a file name starting with a dash', '-plan.md', '---\ndescription: d\n---\nb\n', [/-plan\.md: file name: '-plan' must match/]],
  ['a hidden file', '.plan.md', '---\ndescription: d\n---\nb\n', [/\.plan\.md: file name: '\.plan' must match/]],
  ['a file name with an underscore', 'plan_x.md', '---\ndescription: d\n---\nb\n', [/plan_x\.md: file name: 'plan_x' must match/]],
  ['a file that is not .md', 'plan.txt', '---\ndescription: d\n---\nb\n', [/plan\.txt: file name: must end in \.md/]],
  [
    'every problem of a file is reported at once',
    'Bad.md',
    '---\nargs:\n  - name: issue\n    description: a\n  - name: issue\n    description: b\n---\n{{issue}} {{nope}}\n',
    [/Bad\.md: file name: /, /Bad\.md: description: required/, /Bad\.md: args\[1\]\.name: duplicate argument 'issue'/, /Bad\.md: body line 8: \{\{nope\}\}/],
  ],
];

for (const [what, fileName, text, expected] of invalid) {
  test(`invalid: ${what}`, () => {
    const got = problemsOf(parseAgentFile(fileName, text));
    assert.is(got.length, expected.length, `problems: ${JSON.stringify(got)}`);
    expected.forEach((re, i) => assert.match(got[i] ?? '', re));
  });
}

test('a javascript frontmatter is refused, never evaluated', () => {
  const r = parseAgentFile('evil.md', '---javascript\nprocess.exit(7)\n---\nbody\n');
  assert.equal(problemsOf(r), [".coven/agents/evil.md: frontmatter: language 'javascript' is not supported: the first line must be exactly '---' (YAML only)"]);
});

test('the same text parsed twice gives the same answer (gray-matter caches by input)', () => {
  const bad = '---\ndescription: [twice\n---\nbody\n';
  for (let i = 0; i < 2; i++) assert.match(problemsOf(parseAgentFile('plan.md', bad)).join('\n'), /^\.coven\/agents\/plan\.md: frontmatter: YAML syntax error at line 3:/);
  const first = agentOf(parseAgentFile('plan.md', planText));
  first.args.pop();
  first.warnings.push('changed');
  const second = agentOf(parseAgentFile('plan.md', planText));
  assert.is(second.args.length, 2);
  assert.equal(second.warnings, []);
});

test('unknown keys are warnings, with a hint for near misses; the agent stays valid', () => {
  const a = agentOf(
    parseAgentFile('plan.md', '---\ndescription: d\nmaxConcurrency: 2\ncolour: blue\nargs:\n  - name: issue\n    description: i\n    default: x\n---\n{{issue}}\n'),
  );
  assert.equal(a.warnings, [
    '.coven/agents/plan.md: maxConcurrency: unknown key, ignored (did you mean max_concurrency?)',
    '.coven/agents/plan.md: colour: unknown key, ignored',
    '.coven/agents/plan.md: args[0].default: unknown key, ignored',
  ]);
  assert.is(a.maxConcurrency, undefined);
});

test('a declared argument the body never uses is a warning', () => {
  const a = agentOf(parseAgentFile('plan.md', '---\ndescription: d\nargs:\n  - name: issue\n    description: i\n---\nno placeholder here\n'));
  assert.equal(a.warnings, [".coven/agents/plan.md: args[0]: 'issue' is never used in the body"]);
});

test('braces that are not a placeholder name are plain text', () => {
  const a = agentOf(parseAgentFile('ci.md', '---\ndescription: d\n---\nKeep {{ a + b }} and {{}} and { {x} } as they are.\n'));
  const r = renderTemplate(a, {});
  assert.equal(r, { kind: 'ok', text: 'Keep {{ a + b }} and {{}} and { {x} } as they are.\n' });
});

// ---- rendering ----

const renderAgent = agentOf(
  parseAgentFile(
    'r.md',
    '---\ndescription: d\nargs:\n  - name: issue\n    description: i\n  - name: other\n    description: o\n    required: false\n---\nissue=[{{issue}}] other=[{{ other }}] again=[{{issue}}]\n',
  ),
);

const renders: [string, Record<string, string>, string][] = [
  ['values replace every placeholder, spaces inside braces allowed', { issue: 'issues/a.md', other: 'x' }, 'issue=[issues/a.md] other=[x] again=[issues/a.md]\n'],
  ['an optional argument not given renders empty', { issue: 'a' }, 'issue=[a] other=[] again=[a]\n'],
  ['a shell command is inserted as plain text', { issue: '$(touch /tmp/pwned); `rm -rf /`' }, 'issue=[$(touch /tmp/pwned); `rm -rf /`] other=[] again=[$(touch /tmp/pwned); `rm -rf /`]\n'],
  ['a value holding a placeholder is not expanded again', { issue: '{{other}}', other: 'O' }, 'issue=[{{other}}] other=[O] again=[{{other}}]\n'],
  ['a value holding its own placeholder does not loop', { issue: '{{issue}}' }, 'issue=[{{issue}}] other=[] again=[{{issue}}]\n'],
  ["String.replace's $ patterns stay literal", { issue: "$& $1 $$ $` $'" }, "issue=[$& $1 $$ $` $'] other=[] again=[$& $1 $$ $` $']\n"],
  ['HTML is not escaped', { issue: '<b>&amp;"\'</b>' }, 'issue=[<b>&amp;"\'</b>] other=[] again=[<b>&amp;"\'</b>]\n'],
  ['a multi-line value is inserted as it is', { issue: 'a\nb' }, 'issue=[a\nb] other=[] again=[a\nb]\n'],
];

for (const [what, args, expected] of renders) {
  test(`render: ${what}`, () => {
    assert.equal(renderTemplate(renderAgent, args), { kind: 'ok', text: expected });
  });
}

test('render: a missing or empty required argument is refused', () => {
  assert.equal(renderTemplate(renderAgent, {}), { kind: 'missing-args', names: ['issue'] });
  assert.equal(renderTemplate(renderAgent, { issue: '  ', other: 'x' }), { kind: 'missing-args', names: ['issue'] });
});

test('render: an argument the agent does not declare is refused', () => {
  assert.equal(renderTemplate(renderAgent, { issue: 'a', isue: 'b', extra: 'c' }), { kind: 'unknown-args', names: ['isue', 'extra'] });
  assert.equal(renderTemplate(renderAgent, { issue: 'a', constructor: 'x' }), { kind: 'unknown-args', names: ['constructor'] });
});

// ---- catalog ----

test('the catalog lists name, description, limit and every argument', () => {
  const plan = agentOf(parseAgentFile('plan.md', planText));
  const audit = agentOf(parseAgentFile('audit.md', '---\ndescription: |\n  Audits the\n  repository\n---\nAudit.\n'));
  assert.is(
    formatAgentCatalog([audit, plan]),
    [
      'audit — Audits the repository',
      '    (no arguments)',
      'plan — Writes a plan for one issue and moves it to review/ (at most 1 at once)',
      '    issue (required): path of the issue file, e.g. issues/fix-scroll.md',
      '    note (optional): a hint from dispatch',
    ].join('\n'),
  );
  assert.is(formatAgentCatalog([]), '(no agents)');
});

// ---- loading from a directory ----

function agentsDir(): { root: string; agents: string } {
  const root = tempDir();
  const agents = join(root, '.coven', 'agents');
  mkdirSync(agents, { recursive: true });
  return { root, agents };
}

test('no .coven/agents directory: an empty registry and a note, not a crash', async () => {
  const root = tempDir();
  const r = await loadRegistry(root);
  assert.equal(r.agents, []);
  assert.equal(r.invalid, []);
  assert.is(r.warnings.length, 1);
  assert.match(r.warnings[0] ?? '', /^\.coven\/agents: no such directory/);
  assert.is(r.dir, join(root, '.coven', 'agents'));
});

test('an empty .coven/agents directory: an empty registry, nothing to report', async () => {
  const { root } = agentsDir();
  assert.equal(await loadRegistry(root), { dir: join(root, '.coven', 'agents'), agents: [], invalid: [], warnings: [] });
});

test('.coven/agents that is a file is reported as invalid', async () => {
  const root = tempDir();
  mkdirSync(join(root, '.coven'));
  writeFileSync(join(root, '.coven', 'agents'), 'oops');
  const r = await loadRegistry(root);
  assert.equal(r.agents, []);
  assert.equal(r.invalid.map(formatFileProblem), ['.coven/agents: cannot read the directory (ENOTDIR)']);
});

test('invalid files never hide the valid ones; other files are ignored; agents are sorted', async () => {
  const { root, agents } = agentsDir();
  writeFileSync(join(agents, 'zeta.md'), '---\ndescription: last\n---\nZ\n');
  writeFileSync(join(agents, 'plan.md'), planText);
  writeFileSync(join(agents, 'alpha.md'), '---\ndescription: first\nmax_concurrncy: 1\n---\nA\n');
  writeFileSync(join(agents, 'Broken.md'), '---\ndescription: d\n---\nb\n');
  writeFileSync(join(agents, 'yaml.md'), '---\ndescription: [\n---\nb\n');
  writeFileSync(join(agents, 'latin1.md'), Buffer.from([0x2d, 0x2d, 0x2d, 0x0a, 0xe9, 0x0a]));
  writeFileSync(join(agents, 'notes.txt'), 'not an agent');
  writeFileSync(join(agents, 'plan.md.swp'), 'editor swap');
  mkdirSync(join(agents, 'folder.md'));
  mkdirSync(join(agents, 'sub'));
  writeFileSync(join(agents, 'sub', 'nested.md'), '---\ndescription: nested\n---\nN\n');

  const r = await loadRegistry(root);
  assert.equal(r.agents.map((a) => a.name), ['alpha', 'plan', 'zeta']);
  assert.equal(r.invalid.map(formatFileProblem), [
    ".coven/agents/Broken.md: file name: 'Broken' must match ^[a-z][a-z0-9-]*$ (a lower-case letter, then lower-case letters, digits or -); rename the file",
    '.coven/agents/folder.md: is a directory, not a file',
    '.coven/agents/latin1.md: is not valid UTF-8 text',
    '.coven/agents/yaml.md: frontmatter: YAML syntax error at line 3: unexpected end of the stream within a flow collection',
  ]);
  assert.equal(r.warnings, ['.coven/agents/alpha.md: max_concurrncy: unknown key, ignored']);
});

test('a changed file is seen on the next load', async () => {
  const { root, agents } = agentsDir();
  writeFileSync(join(agents, 'plan.md'), '---\ndescription: old\n---\nb\n');
  assert.is((await loadRegistry(root)).agents[0]?.description, 'old');
  writeFileSync(join(agents, 'plan.md'), '---\ndescription: new\n---\nb\n');
  assert.is((await loadRegistry(root)).agents[0]?.description, 'new');
});

test.run();
