// Hostile input: issue files with invalid YAML, an unclosed frontmatter or bytes that
// are not UTF-8. `coven issues` lists them with a note; a dispatch that reads the list
// still picks the good issue, and the worker lands the work.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv } from './helpers/fake-claude.js';

/** A dispatch agent that may run `coven issues` and the shell around it. */
const dispatchWithShell = `---
description: chooses the next job
claude_args: ["--allowedTools=Bash"]
---
Choose the next job. Run coven issues.
`;

test('issue files that are not valid YAML or not UTF-8: listed with a note, and dispatch still works', async () => {
  const repo = await covenRepo({
    '.coven/agents/dispatch.md': dispatchWithShell,
    'issues/good.md': issueFile('Fix the good one'),
    'issues/bad-yaml.md': '---\npriority: [P0\nstate: new\n---\n# Bad yaml\n',
    'review/unclosed.md': '---\npriority: P0\nstate: new\n# never closed\n',
  });
  writeFileSync(join(repo, 'issues', 'latin1.md'), Buffer.from('---\npriority: P0\nstate: new\n---\n# Caf\xe9\n', 'latin1'));
  await sh(repo, 'add', '-A');
  await sh(repo, 'commit', '-q', '-m', 'bad issue files');

  const listed = await coven(['issues'], { cwd: repo });
  assert.is(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /issues\/bad-yaml\.md\s+\?\s+\?\s+bad-yaml\.md \(bad frontmatter: YAML syntax error at line \d+/);
  assert.match(listed.stdout, /issues\/latin1\.md\s+\?\s+\?\s+latin1\.md \(bad frontmatter: not UTF-8 text\)/);
  assert.match(listed.stdout, /review\/unclosed\.md\s+\?\s+\?\s+unclosed\.md \(bad frontmatter: not closed/);
  assert.match(listed.stdout, /issues\/good\.md\s+new\s+P1\s+Fix the good one/);

  // dispatch reads the list like an agent would and picks the one new issue
  const pick = `coven issues | awk '$2 == "new" { printf "<dispatch>\\nagent: plan\\nissue: %s\\n</dispatch>\\n", $1; exit }'`;
  const env = {
    ...fakeClaudeEnv([
      { match: { promptIncludes: 'Choose the next job' }, steps: [{ reply_from_bash: pick }] },
      { match: { promptIncludes: 'Plan the issue in issues/good.md' }, steps: [{ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan good' }, { text: 'Planned.' }] },
    ]),
    COVEN_WORKTREE_BASE: tempDir('coven-wt-'),
  };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan good');
});

test.run();
