// demo-project — what `coven demo` works on: a tiny project ("hello"), its four issues,
// and, for the simulation, the script of the stand-ins (coven's fake CLIs, which share
// it): what each session "does" (really editing files and committing in its worktree).
//
// The story: two approved issues change the same line of hello.js, so whichever lands
// second stops on a rebase conflict, which its session resolves when resumed. The
// French one starts on Codex, whose vendor refuses it (quota) after its edit and before
// its commit; opencode, next in the implement agent's list, goes on from that edit in
// the same worktree. Two new issues get planned (on Gemini CLI) and move to review/;
// the demo approves one, whose implementation lands after a sleeping worker wakes for
// the approval commit.
// Pure data and text; no I/O.

import type { FakeRun } from '../fakes/claude.js';

export interface DemoIssue {
  /** file name in issues/, without .md */
  name: string;
  title: string;
  priority: 'P1' | 'P2';
  state: 'approved' | 'new';
  body: string;
}

export const PROJECT_NAME = 'hello';

export const projectFiles: Record<string, string> = {
  'README.md': '# hello\n\nPrints a greeting in every language it knows.\n',
  'hello.js': `// hello — prints a greeting in every language it knows.
const greetings = ['Hello'];

console.log(greetings.join(' · '));
`,
  'test.js': `// The tests: node test.js (or npm test).
const { execFileSync } = require('node:child_process');
const out = execFileSync(process.execPath, ['hello.js'], { encoding: 'utf8' });
if (!out.includes('Hello')) throw new Error('hello.js no longer says Hello');
console.log('ok');
`,
  'package.json': `${JSON.stringify({ name: 'hello', private: true, scripts: { test: 'node test.js' } }, null, 2)}\n`,
};

export const issues: DemoIssue[] = [
  {
    name: 'add-french',
    title: 'Greet in French too',
    priority: 'P1',
    state: 'approved',
    body: "Add 'Bonjour' to the greetings in hello.js, after 'Hello'.",
  },
  {
    name: 'add-german',
    title: 'Greet in German too',
    priority: 'P1',
    state: 'approved',
    body: "Add 'Hallo' to the greetings in hello.js, after 'Hello'.",
  },
  {
    name: 'readme-usage',
    title: 'Say in the README how to run it',
    priority: 'P2',
    state: 'new',
    body: 'The README should show the command that prints the greetings, and how to run the tests.',
  },
  {
    name: 'shout-flag',
    title: 'A --shout flag',
    priority: 'P2',
    state: 'new',
    body: '`node hello.js --shout` should print the greetings in capital letters.',
  },
];

/** The issue the demo, playing the human, approves once its plan is in review/. */
export const APPROVED_BY_DEMO = 'shout-flag';

/**
 * The simulation's mixed team: the `cli:` each agent file gets in place of its
 * `claude_args` (dispatch keeps Claude Code). The French implementation's first CLI
 * (Codex) is refused for quota, so the job goes to the next one in the list.
 */
export const TEAM_CLIS: Readonly<Record<string, string>> = { plan: 'gemini', implement: '[codex, opencode]' };
/** the job whose first CLI the vendor refuses (quota) */
export const REFUSED_ISSUE = 'add-french';

export function issueText(i: DemoIssue, state: string = i.state, extra = ''): string {
  return `---\npriority: ${i.priority}\nstate: ${state}\n---\n# ${i.title}\n\n${i.body}\n${extra}`;
}

const plans: Record<string, string> = {
  'readme-usage': `
## Plan

**Approach.** Add a "Usage" section to README.md with the two commands.

**Changes.**
- \`README.md\`: a "Usage" section: \`node hello.js\`, and \`npm test\` for the tests.

**Tests.** None needed: documentation only. Run \`npm test\` to be sure nothing else changed.

**Risks.** None.

## Open questions

None.
`,
  'shout-flag': `
## Plan

**Approach.** Read \`--shout\` from \`process.argv\` in hello.js and upper-case the line.

**Changes.**
- \`hello.js\`: build the line once; print it upper-cased when \`--shout\` is given.

**Tests.** \`test.js\`: \`node hello.js --shout\` prints \`HELLO\`.

**Risks.** None; without the flag the output is unchanged.

## Open questions

1. Should \`-s\` work too? *Assumed:* no, only \`--shout\`.
`,
};

const planSummaries: Record<string, string> = {
  'readme-usage': 'a "Usage" section in README.md; no open questions.',
  'shout-flag': 'read --shout in hello.js and upper-case the line; one open question.',
};

const MERGED_GREETINGS = "const greetings = ['Hello', 'Bonjour', 'Hallo'];";

/**
 * The stand-ins' script: one run per kind of session, matched by what the prompt says
 * (the prompts are coven init's templates), each used once by whichever fake's turn
 * matches it first. `standIn` is the command that runs
 * demo/stand-in.js (the dispatcher's reasoning, and the French
 * implementer's wait for the German one, so that both start from the same main).
 */
export function standInScript(standIn: string): FakeRun[] {
  const byIssue = (name: string) => issues.find((i) => i.name === name)!;
  const plan = (name: string): FakeRun => {
    const i = byIssue(name);
    return {
      match: { promptIncludes: ['You are the planning agent', `\`issues/${name}.md\``] },
      steps: [
        { read: `issues/${name}.md` },
        { read: 'hello.js' },
        { write: { path: `issues/${name}.md`, content: issueText(i, 'review', plans[name]) } },
        { bash: `git mv issues/${name}.md review/${name}.md` },
        { commit: `plan: ${i.title}` },
        { text: `Planned: ${planSummaries[name]}\nNow in review/${name}.md, waiting for a human.` },
      ],
    };
  };
  const greet = (name: string, word: string): FakeRun => ({
    match: { promptIncludes: ['You are the implementing agent', `\`issues/${name}.md\``] },
    steps: [
      { read: `issues/${name}.md` },
      { read: 'hello.js' },
      { edit: { path: 'hello.js', old: "['Hello']", new: `['Hello', '${word}']` } },
      { bash: `git rm -q issues/${name}.md` },
      { commit: byIssue(name).title },
      { text: `Added '${word}' to the greetings; the issue is done, so its file is deleted.` },
    ],
  });
  return [
    {
      match: { promptIncludes: 'You are the dispatcher' },
      times: 'unlimited',
      steps: [{ bash: 'coven issues' }, { text_from_command: `${standIn} dispatch` }],
    },
    {
      // Codex starts the French job, and its vendor refuses the next model call (quota)
      // before anything is committed: the job goes on with the next CLI of the agent
      match: { promptIncludes: ['You are the implementing agent', `\`issues/${REFUSED_ISSUE}.md\``] },
      steps: [
        { text_from_command: `${standIn} wait-for-job issues/add-german.md "Reading the issue and hello.js."` },
        { read: `issues/${REFUSED_ISSUE}.md` },
        { read: 'hello.js' },
        { edit: { path: 'hello.js', old: "['Hello']", new: "['Hello', 'Bonjour']" } },
      ],
      refuse: { reason: 'quota' },
    },
    {
      // opencode goes on from what Codex left in the worktree (its prompt says so)
      match: { promptIncludes: ['You are the implementing agent', `\`issues/${REFUSED_ISSUE}.md\``, '## Before you'] },
      steps: [
        { bash: 'git status --short' },
        { bash: 'git diff hello.js' },
        { bash: `git rm -q issues/${REFUSED_ISSUE}.md` },
        { commit: byIssue(REFUSED_ISSUE).title },
        { text: "Codex had added 'Bonjour' to hello.js before its quota ran out; kept it, deleted the issue file and committed." },
      ],
    },
    greet('add-german', 'Hallo'),
    plan('readme-usage'),
    plan('shout-flag'),
    {
      match: { promptIncludes: ['You are the implementing agent', '`review/shout-flag.md`'] },
      steps: [
        { read: 'review/shout-flag.md' },
        { read: 'hello.js' },
        { edit: { path: 'hello.js', old: "console.log(greetings.join(' · '));", new: "const line = greetings.join(' · ');\nconsole.log(process.argv.includes('--shout') ? line.toUpperCase() : line);" } },
        { read: 'test.js' },
        { edit: { path: 'test.js', old: "console.log('ok');", new: "const loud = execFileSync(process.execPath, ['hello.js', '--shout'], { encoding: 'utf8' });\nif (!loud.includes('HELLO')) throw new Error('--shout does not shout');\nconsole.log('ok');" } },
        { bash: 'npm test' },
        { bash: 'git rm -q review/shout-flag.md' },
        { commit: 'A --shout flag' },
        { text: 'hello.js --shout prints the greetings in capitals; npm test passes; the issue file is deleted.' },
      ],
    },
    {
      // landing stopped on a conflict: the session that wrote the change is resumed
      match: { promptIncludes: 'rebase conflict' },
      expect: { resume: true },
      steps: [
        { read: 'hello.js' },
        { write: { path: 'hello.js', content: projectFiles['hello.js']!.replace("const greetings = ['Hello'];", MERGED_GREETINGS) } },
        { bash: 'git add hello.js' },
        { bash: 'git -c core.editor=true rebase --continue' },
        { text: 'Both sides added a greeting to the same line; kept both: Bonjour and Hallo.' },
      ],
    },
  ];
}
