// Hostile input: agent files broken by a commit while a worker runs. The registry is
// read again before every dispatch: a broken agent is reported (once) and left out,
// the others keep working; a broken dispatch.md makes the worker back off and retry
// until it is fixed, never crash.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { commitFile, coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile, testAgents } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { startCoven } from './helpers/worker-process.js';

const choose = (...lines: string[]): FakeRun => ({ match: { promptIncludes: 'Choose the next job' }, steps: [{ text: `<dispatch>\n${lines.join('\n')}\n</dispatch>` }] });
const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);
const brokenPlan = `---\nargs:\n  - name: issue\n    description: the issue\n---\nPlan {{issue}}.\n`;

test('an agent file broken by a landed commit: reported once, left out of dispatch, the other agents keep working', async () => {
  // implement may change .coven/ (its opt-in on main): its commit to plan.md lands without the human's approval
  const implement = testAgents['implement.md']!.replace('---\n', '---\nmay_change_coven: true\n');
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), 'issues/b.md': issueFile('Fix b'), '.coven/agents/implement.md': implement });
  const env = {
    ...fakeClaudeEnv([
      choose('agent: implement', 'issue: issues/a.md'),
      {
        match: { promptIncludes: 'Implement the issue in issues/a.md' },
        steps: [{ read: '.coven/agents/plan.md' }, { write: { path: '.coven/agents/plan.md', content: brokenPlan } }, { write: { path: 'a.txt', content: 'a\n' } }, { commit: 'implement a (and break plan.md)' }, { text: 'Done.' }],
      },
      choose('agent: implement', 'issue: issues/b.md'),
      { match: { promptIncludes: 'Implement the issue in issues/b.md' }, steps: [{ write: { path: 'b.txt', content: 'b\n' } }, { commit: 'implement b' }, { text: 'Done.' }] },
      choose('sleep: nothing left'),
    ]),
    COVEN_WORKTREE_BASE: tempDir('coven-wt-'),
  };
  const r = await coven(['worker', '--name', 'w1', '--max-idle', '1'], { cwd: repo, env });
  const out = r.stdout + r.stderr;
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '--format=%s', '-2', 'main'), 'implement b\nimplement a (and break plan.md)');
  assert.match(r.stderr, /dispatch leaves out agent files it cannot read:\n\s+\.coven\/agents\/plan\.md: description: required/);
  assert.match(r.stderr, /The other agents work as before/);
  assert.is(out.match(/dispatch leaves out agent files/g)?.length, 1, 'said once, not at every dispatch');
  noStack(out);
  // the catalog dispatch sees: plan before the commit, not after it
  const dispatches = readFakeLog(env).filter((c) => c.stdin.includes('Choose the next job'));
  assert.is(dispatches.length, 3);
  const catalog = (i: number) => dispatches[i]!.argv[dispatches[i]!.argv.indexOf('--append-system-prompt') + 1] ?? '';
  assert.match(catalog(0), /^plan — /m);
  assert.not.match(catalog(1), /^plan — /m);
  assert.match(catalog(1), /^implement — /m);
});

test('a broken dispatch.md: the worker says what is wrong, backs off and retries, and goes on once it is fixed', async () => {
  const repo = await covenRepo({ '.coven/agents/dispatch.md': '---\ndescription: [not closed\n---\nChoose the next job.\n' });
  const env = { ...fakeClaudeEnv([choose('sleep: nothing to do')]), COVEN_WORKTREE_BASE: tempDir('coven-wt-'), COVEN_RETRY_MS: '200' };
  const worker = startCoven(['worker', '--name', 'w1', '--max-idle', '1'], { cwd: repo, env });
  await worker.waitFor(/trying again in/);
  assert.match(worker.output(), /there is no usable dispatch agent in .*:\n\s+\.coven\/agents\/dispatch\.md: frontmatter: YAML syntax error/);
  assert.match(worker.output(), /coven init/);
  await commitFile(repo, '.coven/agents/dispatch.md', testAgents['dispatch.md']!, 'fix dispatch.md');

  const r = await worker.exited;
  const out = worker.output();
  assert.is(r.code, 0, out);
  assert.match(out, /w1 sleeps: nothing to do/);
  noStack(out);
  assert.is(await sh(repo, 'branch', '--list', 'coven/*'), '');
});

test.run();
