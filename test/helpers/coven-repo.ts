// coven-repo — a temporary repository set up for coven: small agent files (dispatch,
// plan, implement) and issue files, committed on main. Tests that drive workers and
// dispatch start here.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sh, tempRepo } from './repo.js';

export const testAgents: Record<string, string> = {
  'dispatch.md': `---
description: chooses the next job
---
Choose the next job. Run coven issues.
`,
  'plan.md': `---
description: writes a plan for one issue
args:
  - name: issue
    description: path of the issue file
claude_args: ["--allowedTools=Bash(git *),Read,Edit,Write"]
---
Plan the issue in {{issue}}.
`,
  'implement.md': `---
description: implements one issue
args:
  - name: issue
    description: path of the issue file
  - name: note
    description: an optional hint
    required: false
claude_args: ["--allowedTools=Bash(git *),Read,Edit,Write"]
---
Implement the issue in {{issue}}. Hint: {{note}}
`,
};

/** Writes files (path → content) into `dir`, creating folders. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

export function issueFile(title: string, state = 'new', priority = 'P1'): string {
  return `---\npriority: ${priority}\nstate: ${state}\n---\n# ${title}\n`;
}

/** A repo on `main` with the test agents and the given extra files, all committed. */
export async function covenRepo(extra: Record<string, string> = {}, name = 'project'): Promise<string> {
  const repo = await tempRepo(name);
  writeFiles(join(repo, '.coven', 'agents'), testAgents);
  writeFiles(repo, extra);
  await sh(repo, 'add', '-A');
  await sh(repo, 'commit', '-q', '-m', 'coven agents');
  return repo;
}

/**
 * The refs under refs/coven/ besides the job claims (refs/coven/claims/: a worker's claim
 * while it runs a job, a tombstone once released, by design): what coven saved or set aside.
 */
export async function covenRefsBesideClaims(repo: string, format = '%(objectname) %(objecttype)\t%(refname)'): Promise<string> {
  const all = await sh(repo, 'for-each-ref', `--format=${format}`, 'refs/coven/');
  return all
    .split('\n')
    .filter((l) => l !== '' && !/(^|\s)refs\/coven\/claims\//.test(l))
    .join('\n');
}
