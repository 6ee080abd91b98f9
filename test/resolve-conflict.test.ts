// resolve-conflict — resuming the agent on a rebase conflict, in temporary
// repositories with real conflicts: the prompt it gets, and how rounds are counted
// (rounds it fails count towards giving up; conflicts that come only from main moving
// meanwhile do not). The fake claude does the resolution with real git commands.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { landWorktree } from '../scripts/lib/land/land.js';
import { rebaseInProgress } from '../scripts/lib/git/operation.js';
import { abortRebaseIfAny, conflictPrompt, leftoverMarkers, resolveConflict, type Conflict, type ResolveOptions } from '../scripts/lib/land/resolve-conflict.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun } from './helpers/fake-claude.js';
import { commitFile, sh, tempDir, tempRepo } from './helpers/repo.js';

test('the conflict prompt names the files, the commits main gained and the commits being replayed', async () => {
  const repo = await tempRepo();
  await commitFile(repo, 'greeting.txt', 'hello\n', 'add greeting');
  const wt = join(tempDir('coven-wt-'), 'w1');
  await sh(repo, 'worktree', 'add', '-q', '--track', '-b', 'coven/w1', wt, 'main');
  await commitFile(wt, 'greeting.txt', 'hello from w1\n', 'w1: greeting');
  await commitFile(repo, 'notes.txt', 'notes\n', 'main: notes');
  await commitFile(repo, 'greeting.txt', 'hello from main\n', 'main: greeting');
  const land = await landWorktree({ worktree: wt, keep: true });
  assert.is(land.kind, 'conflict');
  if (land.kind !== 'conflict') return;
  const prompt = await conflictPrompt(wt, land, 1, 3);
  assert.match(prompt, /Conflicted files:\n- greeting\.txt\n/);
  assert.match(prompt, /that your branch did not have \(the other side\):\n- [0-9a-f]+ main: notes\n- [0-9a-f]+ main: greeting\n/);
  assert.match(prompt, /Your commits being replayed:\n- [0-9a-f]+ w1: greeting\n/);
  assert.match(prompt, /git -c core\.editor=true rebase --continue/);
});

/** keeps both sides of every conflict (each side appended lines), then continues the rebase */
const unionResolve = `gd=$(git rev-parse --absolute-git-dir)
while [ -d "$gd/rebase-merge" ]; do
  for f in $(git diff --name-only --diff-filter=U); do sed -i -e '/^<<<<<<< /d' -e '/^=======$/d' -e '/^>>>>>>> /d' "$f"; git add -- "$f"; done
  git -c core.editor=true rebase --continue >/dev/null 2>&1 || true
done
`;

/** A worker branch whose one commit conflicts with main: the land stops at the conflict. */
async function conflicted(): Promise<{ repo: string; wt: string; conflict: Conflict; tip: string }> {
  const repo = await tempRepo();
  await commitFile(repo, 'shared.txt', 'start\n');
  const wt = join(tempDir('coven-wt-'), 'w1');
  await sh(repo, 'worktree', 'add', '-q', '--track', '-b', 'coven/w1', wt, 'main');
  const tip = await commitFile(wt, 'shared.txt', 'start\nw1\n', 'w1 work');
  await commitFile(repo, 'shared.txt', 'start\nmain 0\n', 'main 0');
  const land = await landWorktree({ worktree: wt, keep: true });
  if (land.kind !== 'conflict') throw new Error(`expected a conflict, got ${land.kind}`);
  return { repo, wt, conflict: land, tip };
}

function resolveRun(steps: FakeRun['steps']): FakeRun {
  return { match: { promptIncludes: 'stopped on a rebase conflict' }, times: 'unlimited', steps };
}

/** Resolves worker w1's conflict in `wt` with the fake claude of `fake` (its env); `more` overrides the options. */
function resolveW1(repo: string, wt: string, conflict: Conflict, fake: NodeJS.ProcessEnv, more: Partial<ResolveOptions> = {}) {
  return resolveConflict({ stateDir: join(repo, '.git', 'coven'), worker: 'w1', env: { ...process.env, ...fake }, worktree: wt, branch: 'coven/w1', conflict, agentName: 'implement', cliArgs: ['--allowedTools=Bash'], sessionId: null, ...more });
}

test('conflicts that come only from main moving while the agent resolved do not use up its rounds', async () => {
  const { repo, wt, conflict } = await conflicted();
  const dir = tempDir();
  // after each resolution, "another worker" lands a conflicting line on main, four times
  writeFileSync(join(dir, 'step.sh'), `${unionResolve}
n=$(cat '${dir}/count' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '${dir}/count'
if [ $n -le 4 ]; then printf 'main %s\\n' $n >> '${repo}/shared.txt'; git -C '${repo}' commit -q -am "main $n"; fi
`);
  const fake = fakeClaudeEnv([resolveRun([{ bash: `sh ${dir}/step.sh` }, { text: 'Resolved.' }])]);
  const r = await resolveW1(repo, wt, conflict, fake);
  assert.is(r.kind, 'resolved');
  if (r.kind !== 'resolved') return;
  assert.is(r.land.kind, 'landed');
  assert.is(r.rounds, 5);
  assert.equal(readFileSync(join(repo, 'shared.txt'), 'utf8').split('\n').filter(Boolean).sort(), ['main 0', 'main 1', 'main 2', 'main 3', 'main 4', 'start', 'w1']);
  assert.is(await sh(repo, 'rev-list', '--merges', 'main'), '');
  const prompts = readFakeLog(fake).map((c) => c.prompts[0] ?? '');
  assert.is(prompts.length, 5);
  assert.match(prompts[0]!, /round 1 of 3/);
  assert.match(prompts[0]!, /- [0-9a-f]+ main 0\n/, 'the other side is listed');
  assert.match(prompts[1]!, /moved on while you resolved/);
  assert.match(prompts[1]!, /round 1 of 3/, 'a conflict from main moving is not a failed round');
  assert.match(prompts[1]!, /- [0-9a-f]+ main 1\n/);
});

test('after 2 resolutions overtaken by other lands, the worker holds the land lock through the next one, so it lands', async () => {
  const { repo, wt, conflict } = await conflicted();
  const dir = tempDir();
  const landLock = join(repo, '.git', 'coven', 'locks', 'land');
  // "other workers" land a conflicting line after each resolution, as long as the land lock lets them
  writeFileSync(join(dir, 'step.sh'), `${unionResolve}
n=$(cat '${dir}/count' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '${dir}/count'
if [ -e '${landLock}' ]; then echo held >> '${dir}/seen'; else echo free >> '${dir}/seen'; printf 'other %s\\n' $n >> '${repo}/shared.txt'; git -C '${repo}' commit -q -am "other $n"; fi
`);
  const fake = fakeClaudeEnv([resolveRun([{ bash: `sh ${dir}/step.sh` }, { text: 'Resolved.' }])]);
  const shown: string[] = [];
  const r = await resolveW1(repo, wt, conflict, fake, { display: (l) => shown.push(l) });
  assert.is(r.kind, 'resolved');
  if (r.kind !== 'resolved') return;
  assert.is(r.land.kind, 'landed');
  assert.is(r.rounds, 3);
  assert.equal(readFileSync(join(dir, 'seen'), 'utf8').split('\n').filter(Boolean), ['free', 'free', 'held']);
  assert.ok(shown.some((l) => /moved on during 2 resolutions in a row; holding the land lock/.test(l)), shown.join('\n'));
  assert.not.ok(existsSync(landLock), 'released once landed');
  assert.equal((await sh(repo, 'log', '--format=%s', '-4', 'main')).split('\n'), ['w1 work', 'other 2', 'other 1', 'main 0']);
});

test('an agent that does not resolve gets 3 rounds; then the rebase is aborted and the branch is as it was', async () => {
  const { repo, wt, conflict, tip } = await conflicted();
  const fake = fakeClaudeEnv([resolveRun([{ text: 'I cannot.' }])]);
  const r = await resolveW1(repo, wt, conflict, fake, { cliArgs: [] });
  assert.is(r.kind, 'gave-up');
  assert.is(r.rounds, 3);
  assert.is(readFakeLog(fake).length, 3);
  assert.not.ok(rebaseInProgress(wt));
  assert.is(await sh(wt, 'rev-parse', 'HEAD'), tip);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'main 0');
  assert.ok(existsSync(join(wt, 'shared.txt')));
});

test('an agent that aborts the rebase gets 3 failed rounds, not the rounds meant for main moving; no land lock is held meanwhile', async () => {
  const { repo, wt, conflict, tip } = await conflicted();
  const main = await sh(repo, 'rev-parse', 'main');
  const dir = tempDir();
  const landLock = join(repo, '.git', 'coven', 'locks', 'land');
  writeFileSync(join(dir, 'step.sh'), `if [ -e '${landLock}' ]; then echo held >> '${dir}/seen'; else echo free >> '${dir}/seen'; fi
git rebase --abort
`);
  const fake = fakeClaudeEnv([resolveRun([{ bash: `sh ${dir}/step.sh` }, { text: 'Aborted it.' }])]);
  const shown: string[] = [];
  const r = await resolveW1(repo, wt, conflict, fake, { display: (l) => shown.push(l) });
  assert.is(r.kind, 'gave-up');
  if (r.kind !== 'gave-up') return;
  assert.equal({ rounds: r.rounds, failed: r.failed, why: r.why }, { rounds: 3, failed: 3, why: 'failed' });
  const prompts = readFakeLog(fake).map((c) => c.prompts[0] ?? '');
  assert.is(prompts.length, 3);
  assert.equal(prompts.map((p) => p.match(/round (\d) of 3/)?.[1]), ['1', '2', '3']);
  for (const p of prompts) assert.not.match(p, /moved on while you resolved/);
  assert.match(prompts[1]!, /ended without finishing the rebase \(it was aborted/);
  assert.equal(readFileSync(join(dir, 'seen'), 'utf8').split('\n').filter(Boolean), ['free', 'free', 'free']);
  assert.not.ok(shown.some((l) => /holding the land lock/.test(l)), shown.join('\n'));
  assert.not.ok(rebaseInProgress(wt));
  assert.is(await sh(wt, 'rev-parse', 'refs/heads/coven/w1'), tip, 'the branch is as it was');
  assert.is(await sh(repo, 'rev-parse', 'main'), main, 'main is unchanged');
});

/** the fake's answer to the prompt after a resolution that left conflict markers in */
function markersRun(steps: FakeRun['steps'], times: FakeRun['times'] = 1): FakeRun {
  return { match: { promptIncludes: 'conflict markers are still in the files' }, times, steps };
}

/** stages every conflicted file as git left it, markers and all, and continues the rebase */
const addWithMarkers = `git add -A && git -c core.editor=true rebase --continue >/dev/null 2>&1 || true
`;

test('a resolution that stages a file with its markers still in is not landed: the agent is asked to remove them, and its fix lands', async () => {
  const { repo, wt, conflict } = await conflicted();
  const dir = tempDir();
  writeFileSync(join(dir, 'markers.sh'), addWithMarkers);
  writeFileSync(join(dir, 'fix.sh'), `printf 'start\\nmain 0\\nw1\\n' > shared.txt && git commit -q -am 'Resolve the conflict markers'\n`);
  const fake = fakeClaudeEnv([
    resolveRun([{ bash: `sh ${dir}/markers.sh` }, { text: 'Resolved.' }]),
    markersRun([{ bash: `sh ${dir}/fix.sh` }, { text: 'Removed them.' }]),
  ]);
  const r = await resolveW1(repo, wt, conflict, fake);
  assert.is(r.kind, 'resolved');
  assert.is(r.rounds, 2);
  const prompts = readFakeLog(fake).map((c) => c.prompts[0] ?? '');
  assert.match(prompts[1]!, /conflict markers are still in the files \(round 2 of 3\):\n- shared\.txt:2\n/);
  assert.is(readFileSync(join(repo, 'shared.txt'), 'utf8'), 'start\nmain 0\nw1\n', 'main has no markers');
  assert.equal((await sh(repo, 'log', '--format=%s', '-3', 'main')).split('\n'), ['Resolve the conflict markers', 'w1 work', 'main 0']);
});

test('a resolution that keeps leaving markers gives up after 3 rounds: nothing lands, the branch is back on the agent\'s commit, the attempt is kept', async () => {
  const { repo, wt, conflict, tip } = await conflicted();
  const main = await sh(repo, 'rev-parse', 'main');
  const dir = tempDir();
  writeFileSync(join(dir, 'markers.sh'), addWithMarkers);
  const fake = fakeClaudeEnv([
    resolveRun([{ bash: `sh ${dir}/markers.sh` }, { text: 'Resolved.' }]),
    markersRun([{ text: 'They look fine to me.' }], 'unlimited'),
  ]);
  const r = await resolveW1(repo, wt, conflict, fake);
  assert.is(r.kind, 'gave-up');
  if (r.kind !== 'gave-up') return;
  assert.equal({ rounds: r.rounds, failed: r.failed, markers: r.markers }, { rounds: 3, failed: 3, markers: ['shared.txt:2', 'shared.txt:6'] });
  assert.is(await sh(repo, 'rev-parse', 'main'), main, 'main is unchanged');
  assert.is(await sh(wt, 'rev-parse', 'refs/heads/coven/w1'), tip, 'the branch holds the agent\'s own commit again');
  assert.is(await sh(wt, 'status', '--porcelain'), '');
  assert.match(r.unfinished ?? '', /^refs\/coven\/unfinished\/w1\//);
  assert.match(await sh(repo, 'show', `${r.unfinished}:shared.txt`), /^<<<<<<< /m, 'the attempt, markers and all, is kept');
});

test('markers left in a file of a later conflict (one that came from main moving) are caught too', async () => {
  const repo = await tempRepo();
  await commitFile(repo, 'shared.txt', 'start\n');
  await commitFile(repo, 'other.txt', 'other\n');
  const wt = join(tempDir('coven-wt-'), 'w1');
  await sh(repo, 'worktree', 'add', '-q', '--track', '-b', 'coven/w1', wt, 'main');
  writeFileSync(join(wt, 'other.txt'), 'other\nw1\n');
  await sh(wt, 'add', 'other.txt');
  await commitFile(wt, 'shared.txt', 'start\nw1\n', 'w1 work');
  await commitFile(repo, 'shared.txt', 'start\nmain 0\n', 'main 0');
  const conflict = await landWorktree({ worktree: wt, keep: true });
  if (conflict.kind !== 'conflict') throw new Error(`expected a conflict, got ${conflict.kind}`);
  assert.equal(conflict.files, ['shared.txt']);
  const dir = tempDir();
  // round 1 resolves well, while "another worker" lands a conflicting other.txt; round 2 stages its markers
  writeFileSync(join(dir, 'step.sh'), `n=$(cat '${dir}/count' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '${dir}/count'
if [ $n -eq 1 ]; then
${unionResolve}
printf 'other\\nmain 1\\n' > '${repo}/other.txt'; git -C '${repo}' commit -q -am 'main 1'
else
${addWithMarkers}
fi
`);
  writeFileSync(join(dir, 'fix.sh'), `printf 'other\\nmain 1\\nw1\\n' > other.txt && git commit -q -am 'Resolve the conflict markers'\n`);
  const fake = fakeClaudeEnv([
    resolveRun([{ bash: `sh ${dir}/step.sh` }, { text: 'Resolved.' }]),
    markersRun([{ bash: `sh ${dir}/fix.sh` }, { text: 'Removed them.' }]),
  ]);
  const r = await resolveW1(repo, wt, conflict, fake);
  assert.is(r.kind, 'resolved');
  const prompts = readFakeLog(fake).map((c) => c.prompts[0] ?? '');
  assert.is(prompts.length, 3);
  assert.match(prompts[2]!, /conflict markers are still in the files[^\n]*\n- other\.txt:\d+\n/);
  assert.not.match(readFileSync(join(repo, 'other.txt'), 'utf8'), /^<<<<<<< /m, 'main has no markers');
});

test('a rebase aborted after failed rounds keeps how far the resolution got under refs/coven/unfinished/', async () => {
  const { repo, wt, conflict, tip } = await conflicted();
  const fake = fakeClaudeEnv([resolveRun([{ bash: "printf 'start\\nhalf done\\n' > shared.txt" }, { text: 'I ran out of ideas.' }])]);
  const r = await resolveW1(repo, wt, conflict, fake);
  assert.is(r.kind, 'gave-up');
  if (r.kind !== 'gave-up') return;
  assert.ok(r.aborted);
  assert.not.ok(rebaseInProgress(wt));
  assert.is(await sh(wt, 'rev-parse', 'HEAD'), tip);
  assert.is(await sh(repo, 'show', `${r.unfinished}:shared.txt`), 'start\nhalf done');
});

test('conflict markers are found only as lines the change adds, in the files named', async () => {
  const repo = await tempRepo();
  const base = await commitFile(repo, 'a.md', 'Title\n=======\n', 'a');
  await commitFile(repo, 'a.md', 'Title\n=======\n<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> 1234 w1\n', 'markers');
  await commitFile(repo, 'b.txt', '<<<<<<< on purpose\n', 'b');
  assert.equal(await leftoverMarkers(repo, base, 'HEAD', ['a.md']), ['a.md:3', 'a.md:7']);
  assert.equal(await leftoverMarkers(repo, base, 'HEAD', []), []);
  assert.equal(await leftoverMarkers(repo, 'HEAD~1', 'HEAD', ['a.md']), []);
});

test('a rebase whose state a killed git left half written (no onto, so git rebase --abort fails) is still dropped: the branch is back, commits intact', async () => {
  const { wt, tip } = await conflicted();
  const gitDir = await sh(wt, 'rev-parse', '--absolute-git-dir');
  rmSync(join(gitDir, 'rebase-merge', 'onto'));
  assert.is((await abortRebaseIfAny(wt, 'w1')).aborted, true);
  assert.not.ok(rebaseInProgress(wt));
  assert.is(await sh(wt, 'symbolic-ref', '--short', 'HEAD'), 'coven/w1');
  assert.is(await sh(wt, 'rev-parse', 'HEAD'), tip);
  assert.is(await sh(wt, 'status', '--porcelain'), '');
});

test.run();
