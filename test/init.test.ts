import { test } from 'uvu';
import * as assert from 'uvu/assert';
import matter from 'gray-matter';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { claudeMdAddition, templateAgents } from '../scripts/init.js';
import { formatFileProblem, loadRegistry, parseAgentFile, placeholdersOf, renderTemplate, type AgentDef } from '../scripts/lib/agents/registry.js';
import { checkDispatchOutput } from '../scripts/lib/agents/dispatch-decision.js';
import { coven, projectRoot, sh, tempDir, tempRepo } from './helpers/repo.js';

const templates = join(projectRoot, 'templates');
const claudeLine = readFileSync(join(templates, 'claude-md-line.md'), 'utf8').trim();

/** Every file under `dir` except .git, as path → content. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      if (name === '.git') continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'latin1'));
    }
  };
  walk(dir);
  return out;
}

function write(dir: string, path: string, content: string): void {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), content);
}

function occurrences(text: string, part: string): number {
  return text.split(part).length - 1;
}

const written = [
  '.coven/agents/dispatch.md',
  '.coven/agents/plan.md',
  '.coven/agents/implement.md',
  '.coven/agents/audit.md',
  '.coven/workflow.md',
  'issues/example.md',
  'review/.gitkeep',
  'CLAUDE.md',
];

test('coven init in a fresh repository writes the agents, the workflow, the issue folders and CLAUDE.md, and commits nothing', async () => {
  const repo = await tempRepo();
  const head = await sh(repo, 'rev-parse', 'HEAD');
  const r = await coven(['init', '--no-hooks'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  for (const path of written) assert.ok(r.stdout.includes(`wrote     ${path}`), `reported ${path}:\n${r.stdout}`);
  for (const name of templateAgents) {
    assert.equal(readFileSync(join(repo, `.coven/agents/${name}.md`)), readFileSync(join(templates, 'agents', `${name}.md`)), `${name}.md is the template`);
  }
  assert.equal(readFileSync(join(repo, '.coven/workflow.md')), readFileSync(join(templates, 'workflow.md')));
  assert.equal(readFileSync(join(repo, 'issues/example.md')), readFileSync(join(templates, 'issues/example.md')));
  assert.is(readFileSync(join(repo, 'review/.gitkeep'), 'utf8'), '');
  assert.is(readFileSync(join(repo, 'CLAUDE.md'), 'utf8'), `${claudeLine}\n`);
  assert.is(await sh(repo, 'rev-parse', 'HEAD'), head, 'no commit was made');
  assert.is(await sh(repo, 'diff', '--cached', '--name-only'), '', 'nothing was staged');
  assert.match(r.stdout, /Nothing was committed/);
  assert.match(r.stdout, /git add -- \.coven\/agents\/dispatch\.md .* CLAUDE\.md/);
  assert.match(r.stdout, /coven worker/);
  assert.match(r.stdout, /hooks +not installed \(--no-hooks\)/);
});

test('files that already exist stay byte for byte and are listed as skipped', async () => {
  const repo = await tempRepo();
  const mine = {
    '.coven/agents/plan.md': '---\ndescription: my own planner\n---\nPlan it my way.\n',
    '.coven/workflow.md': '# our workflow\r\n(with CRLF)\r\n',
    'issues/login-timeout.md': '---\npriority: P1\nstate: new\n---\n# Login times out\n',
    'review/cache-keys.md': '---\npriority: P2\nstate: review\n---\n# Cache keys\n',
    'CLAUDE.md': '# Project notes\n\nUse tabs.', // no newline at the end
  };
  for (const [path, content] of Object.entries(mine)) write(repo, path, content);
  const r = await coven(['init', '--no-hooks'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  for (const [path, content] of Object.entries(mine)) {
    if (path === 'CLAUDE.md') continue;
    assert.is(readFileSync(join(repo, path), 'utf8'), content, `${path} untouched`);
  }
  assert.match(r.stdout, /skipped   \.coven\/agents\/plan\.md \(already exists\)/);
  assert.match(r.stdout, /skipped   \.coven\/workflow\.md \(already exists\)/);
  assert.match(r.stdout, /skipped   issues\/example\.md \(issues\/ already holds issues \(login-timeout\.md\)\)/);
  assert.match(r.stdout, /skipped   review\/\.gitkeep \(review\/ already exists \(cache-keys\.md\)\)/);
  assert.ok(!existsSync(join(repo, 'issues/example.md')), 'no example next to real issues');
  assert.ok(!existsSync(join(repo, 'review/.gitkeep')));
  assert.match(r.stdout, /wrote     \.coven\/agents\/dispatch\.md/);
  assert.match(r.stdout, /appended  CLAUDE\.md/);
  assert.is(readFileSync(join(repo, 'CLAUDE.md'), 'utf8'), `# Project notes\n\nUse tabs.\n\n${claudeLine}\n`);
  assert.not.match(r.stdout, /git add -- .*plan\.md/, 'skipped files are not in the git add line');
});

test('running coven init twice: the second run writes nothing', async () => {
  const repo = await tempRepo();
  write(repo, 'CLAUDE.md', '# notes\n');
  const first = await coven(['init', '--no-hooks'], { cwd: repo });
  assert.is(first.code, 0, first.stderr);
  const before = snapshot(repo);
  const status = await sh(repo, 'status', '--porcelain', '--untracked-files=all');
  const second = await coven(['init', '--no-hooks'], { cwd: repo });
  assert.is(second.code, 0, second.stderr);
  assert.equal(snapshot(repo), before);
  assert.is(await sh(repo, 'status', '--porcelain', '--untracked-files=all'), status);
  assert.not.match(second.stdout, /\bwrote\b|\bappended\b/);
  assert.is(occurrences(second.stdout, 'skipped'), written.length);
  assert.match(second.stdout, /no file was written/);
  assert.not.match(second.stdout, /git add/);
  assert.is(occurrences(readFileSync(join(repo, 'CLAUDE.md'), 'utf8'), claudeLine), 1);
});

test('the CLAUDE.md line is appended once, and not at all when a line already points to the workflow', async () => {
  const repo = await tempRepo();
  write(repo, 'CLAUDE.md', '# notes\n');
  await coven(['init', '--no-hooks'], { cwd: repo });
  await sh(repo, 'add', '-A');
  await sh(repo, 'commit', '-q', '-m', 'set up coven');
  await coven(['init', '--no-hooks'], { cwd: repo });
  assert.is(readFileSync(join(repo, 'CLAUDE.md'), 'utf8'), `# notes\n\n${claudeLine}\n`);

  const other = await tempRepo();
  const own = '# notes\nAgents: see .coven/workflow.md (our words).\n';
  write(other, 'CLAUDE.md', own);
  const r = await coven(['init', '--no-hooks'], { cwd: other });
  assert.is(readFileSync(join(other, 'CLAUDE.md'), 'utf8'), own);
  assert.match(r.stdout, /skipped   CLAUDE\.md \(already mentions \.coven\/workflow\.md\)/);
});

test('a project that keeps its CLAUDE.md in .claude/ gets the line there, and no second CLAUDE.md', async () => {
  const repo = await tempRepo();
  write(repo, '.claude/CLAUDE.md', '# notes\n');
  const r = await coven(['init', '--no-hooks'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  assert.is(readFileSync(join(repo, '.claude/CLAUDE.md'), 'utf8'), `# notes\n\n${claudeLine}\n`);
  assert.ok(!existsSync(join(repo, 'CLAUDE.md')));
  assert.match(r.stdout, /appended  \.claude\/CLAUDE\.md/);
});

test('from a subfolder, or with --dir, the files go to the top of the worktree', async () => {
  const repo = await tempRepo();
  mkdirSync(join(repo, 'src', 'deep'), { recursive: true });
  const r = await coven(['init', '--no-hooks'], { cwd: join(repo, 'src', 'deep') });
  assert.is(r.code, 0, r.stderr);
  assert.ok(existsSync(join(repo, '.coven/agents/dispatch.md')));
  assert.ok(!existsSync(join(repo, 'src', 'deep', '.coven')));

  const other = await tempRepo();
  const elsewhere = tempDir();
  const r2 = await coven(['init', '--no-hooks', '--dir', other], { cwd: elsewhere });
  assert.is(r2.code, 0, r2.stderr);
  assert.ok(existsSync(join(other, '.coven/workflow.md')));
  assert.equal(readdirSync(elsewhere), []);
});

test('outside a git repository coven init says so, writes nothing and exits 2', async () => {
  const dir = tempDir();
  const r = await coven(['init'], { cwd: dir, env: { GIT_CEILING_DIRECTORIES: dir } });
  assert.is(r.code, 2);
  assert.match(r.stderr, /not inside a git repository/);
  assert.match(r.stderr, /Nothing was written/);
  assert.equal(readdirSync(dir), []);

  const missing = await coven(['init', '--dir', join(dir, 'nope')]);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /no such directory/);
});

test('a bare repository is refused with a clear message', async () => {
  const dir = join(tempDir(), 'bare.git');
  mkdirSync(dir);
  await sh(dir, 'init', '-q', '--bare');
  const r = await coven(['init'], { cwd: dir });
  assert.is(r.code, 2);
  assert.match(r.stderr, /bare repository/);
  assert.equal(readdirSync(join(dir)).includes('.coven'), false);
});

test('bad arguments exit 64 with the usage; --help exits 0', async () => {
  const repo = await tempRepo();
  const r = await coven(['init', '--frobnicate'], { cwd: repo });
  assert.is(r.code, 64);
  assert.match(r.stderr, /unknown option --frobnicate/);
  assert.ok(!existsSync(join(repo, '.coven')));
  const h = await coven(['init', '--help']);
  assert.is(h.code, 0);
  assert.match(h.stdout, /usage: coven init/);
});

test('coven init installs the wake hooks: a commit on the main branch then wakes workers; a second run leaves them alone', async () => {
  const repo = await tempRepo();
  const r = await coven(['init'], { cwd: repo });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /hooks +post-commit, post-merge installed in .*\(main branch: main\)/);
  for (const name of ['post-commit', 'post-merge']) assert.match(readFileSync(join(repo, '.git', 'hooks', name), 'utf8'), /# coven-hook/);

  const wake = join(repo, '.git', 'coven', 'wake');
  assert.not.ok(existsSync(wake));
  await sh(repo, 'add', '-A');
  await sh(repo, 'commit', '-q', '-m', 'Set up coven');
  assert.ok(existsSync(wake), 'committing the setup on main touched the wake file');

  const hooksBefore = readFileSync(join(repo, '.git', 'hooks', 'post-commit'));
  const again = await coven(['init'], { cwd: repo });
  assert.is(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /hooks +post-commit, post-merge already in/);
  assert.match(again.stdout, /no file was written/);
  assert.equal(readFileSync(join(repo, '.git', 'hooks', 'post-commit')), hooksBefore);
});

test('with --no-hooks no hook is written; when the hooks cannot be installed the files are still written and the exit code is 3', async () => {
  const repo = await tempRepo();
  const r = await coven(['init', '--no-hooks'], { cwd: repo });
  assert.is(r.code, 0);
  assert.not.ok(existsSync(join(repo, '.git', 'hooks', 'post-commit')));

  // the main worktree on a detached HEAD: nothing says which branch is main
  const detached = await tempRepo();
  await sh(detached, 'checkout', '-q', '--detach');
  const d = await coven(['init'], { cwd: detached });
  assert.is(d.code, 3, d.stdout + d.stderr);
  assert.match(d.stdout, /hooks +not installed: .*coven hooks install --main-branch/);
  assert.ok(existsSync(join(detached, '.coven/agents/dispatch.md')), 'the files were written anyway');
  assert.not.ok(existsSync(join(detached, '.git', 'hooks', 'post-commit')));
});

test('claudeMdAddition: what is appended to CLAUDE.md', () => {
  const line = 'See .coven/workflow.md.';
  const table: [string | null, string | null][] = [
    [null, `${line}\n`],
    ['', `${line}\n`],
    ['  \n', `${line}\n`],
    ['# notes\n', `\n${line}\n`],
    ['# notes\n\n', `${line}\n`],
    ['# notes', `\n\n${line}\n`],
    ['read .coven/workflow.md first\n', null],
  ];
  for (const [existing, expected] of table) assert.is(claudeMdAddition(existing, line), expected, JSON.stringify(existing));
});

// ---- the templates and this repository's own agents, as the registry sees them -------

/** The template agents parsed by the registry, as `coven init` will install them. */
function templateRegistry(): { agents: AgentDef[]; problems: string[]; warnings: string[] } {
  const agents: AgentDef[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const file of readdirSync(join(templates, 'agents')).sort()) {
    const r = parseAgentFile(file, readFileSync(join(templates, 'agents', file), 'utf8'));
    if (r.kind === 'agent') {
      agents.push(r.agent);
      warnings.push(...r.agent.warnings);
    } else {
      problems.push(...r.problems.map(formatFileProblem));
      warnings.push(...r.warnings);
    }
  }
  return { agents, problems, warnings };
}

async function registries(): Promise<[string, AgentDef[]][]> {
  const t = templateRegistry();
  assert.equal(t.problems, [], 'templates/agents: every file is valid');
  assert.equal(t.warnings, [], 'templates/agents: no warnings');
  const own = await loadRegistry(projectRoot);
  assert.equal(own.invalid.map(formatFileProblem), [], '.coven/agents: every file is valid');
  assert.equal(own.warnings, [], '.coven/agents: no warnings');
  return [
    ['templates/agents', t.agents],
    ['.coven/agents', own.agents],
  ];
}

test('the four templates and this repository\'s own agents load as valid agents with the registry', async () => {
  for (const [where, agents] of await registries()) {
    assert.equal(agents.map((a) => a.name), ['audit', 'dispatch', 'implement', 'plan'], where);
    const args = Object.fromEntries(agents.map((a) => [a.name, a.args.map((x) => `${x.name}${x.required ? '' : '?'}`)]));
    assert.equal(args, { audit: ['area?'], dispatch: [], implement: ['issue'], plan: ['issue'] }, `${where}: arguments`);
    assert.is(agents.find((a) => a.name === 'audit')?.maxConcurrency, 1, `${where}: one audit at a time`);
  }
});

test('each agent\'s placeholders are exactly its declared arguments, and render with none left over', async () => {
  for (const [where, agents] of await registries()) {
    for (const agent of agents) {
      const used = [...new Set(placeholdersOf(agent.body).map((p) => p.name))].sort();
      assert.equal(used, agent.args.map((a) => a.name).sort(), `${where}/${agent.name}.md: placeholders vs args`);
      const values = Object.fromEntries(agent.args.filter((a) => a.required).map((a) => [a.name, `VALUE-OF-${a.name}`]));
      const r = renderTemplate(agent, values);
      assert.is(r.kind, 'ok', `${where}/${agent.name}.md renders`);
      if (r.kind !== 'ok') continue;
      assert.equal(placeholdersOf(r.text), [], `${where}/${agent.name}.md: no placeholder left`);
      for (const v of Object.values(values)) assert.ok(r.text.includes(v), `${where}/${agent.name}.md uses ${v}`);
    }
  }
});

test('the decisions the dispatch prompt asks for pass the dispatch protocol', async () => {
  for (const [where, agents] of await registries()) {
    const blocks = [
      'agent: plan\nissue: issues/fix-scroll.md',
      'agent: implement\nissue: review/fix-scroll.md',
      'agent: audit',
      'sleep: 3 plans wait for human review in review/ (a.md, b.md, c.md); nothing approved',
    ];
    for (const b of blocks) {
      const r = checkDispatchOutput(`Reasoning.\n<dispatch>\n${b}\n</dispatch>`, agents);
      assert.is(r.kind, 'valid', `${where}: ${b} -> ${JSON.stringify(r)}`);
    }
  }
});

test('claude_args use the --flag=value form, so a variadic flag cannot swallow the prompt; every agent denies git push', async () => {
  for (const [where, agents] of await registries()) {
    for (const agent of agents) {
      assert.ok(agent.claudeArgs.length > 0, `${where}/${agent.name}.md declares claude_args`);
      for (const a of agent.claudeArgs) assert.match(a, /^--[a-zA-Z-]+=\S/, `${where}/${agent.name}.md: ${a}`);
      const denied = agent.claudeArgs.find((a) => a.startsWith('--disallowedTools='))?.slice('--disallowedTools='.length).split(',') ?? [];
      assert.ok(denied.includes('Bash(git push *)'), `${where}/${agent.name}.md denies git push`);
      if (agent.name === 'dispatch') for (const tool of ['Edit', 'Write', 'NotebookEdit']) assert.ok(denied.includes(tool), `${where}: dispatch denies ${tool}`);
    }
  }
});

test('the agent templates tell the agent where it runs and what it must never do', () => {
  for (const name of templateAgents) {
    const { body } = matterOf(join(templates, 'agents', `${name}.md`));
    assert.match(body, /git worktree/, `${name}: says it runs in a worktree`);
    assert.match(body, /headless/, `${name}: says nobody answers questions`);
    if (name !== 'dispatch') {
      assert.match(body, /Never push, never switch branches/, `${name}: forbids pushing and switching branches`);
      assert.match(body, /coven lands your commits/, `${name}: says coven lands the commits`);
    }
  }
});

test('after coven init, coven agents and coven issues see the four agents and the example issue', async () => {
  const repo = await tempRepo();
  assert.is((await coven(['init', '--no-hooks'], { cwd: repo })).code, 0);
  const agents = await coven(['agents'], { cwd: repo });
  assert.is(agents.code, 0, agents.stdout + agents.stderr);
  assert.match(agents.stdout, /\(4\)/);
  const issues = await coven(['issues'], { cwd: repo });
  assert.is(issues.code, 0, issues.stderr);
  assert.match(issues.stdout, /^issues\/example\.md +new +P2 +Document how to build and run the tests$/m);
});

function matterOf(path: string): { data: Record<string, unknown>; body: string } {
  const parsed = matter(readFileSync(path, 'utf8'), {});
  return { data: parsed.data, body: parsed.content };
}

test('the example issue is a new P2 issue with a title', () => {
  const example = matterOf(join(templates, 'issues', 'example.md'));
  assert.equal(example.data, { priority: 'P2', state: 'new' });
  assert.match(example.body, /^# \S/m);
});

test.run();
