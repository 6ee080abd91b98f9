// Hostile input: an agent that changes the git setup coven's own git then runs as the
// human — the shared config (core.hooksPath, core.fsmonitor, a filter driver, an
// include), the human's ~/.gitconfig, or a hook file in the common .git/hooks/ folder.
// What "safe" means here (docs/trust.md, "Git that coven runs on the human's behalf"):
//   - the agent's program never runs in coven's land (nor in any git coven runs);
//   - after the session every change is undone (config entry by entry; a hook file is
//     moved aside under <state dir>/quarantine/, never deleted), so coven's wake hooks
//     and the user's own hooks run again;
//   - the worker says so in one message: what changed, that it was undone, and the
//     command to make the change by hand if the human really wants it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitFile, coven, run, sh, tempDir, tempRepo } from './helpers/repo.js';
import { git } from '../scripts/lib/git/runner.js';
import { guardGitSetup, undoSetupChanges } from '../scripts/lib/git/setup-guard.js';
import { hooksPathValue, snapshotGitSetup } from '../scripts/lib/git/setup-snapshot.js';
import { landWorktree } from '../scripts/lib/land/land.js';
import { startCoven, until } from './helpers/worker-process.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog, type FakeRun, type FakeStep } from './helpers/fake-claude.js';

const plan = (...steps: FakeStep[]): FakeRun[] => [
  { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
  { match: { promptIncludes: 'Plan the issue' }, steps: [{ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }, ...steps, { text: 'Done.' }] },
];
const noStack = (text: string) => assert.not.match(text, /\n\s+at /, `a stack trace was printed:\n${text}`);

/** A script that writes `marker` when run (any arguments), and passes stdin through (a filter). */
function evilScript(marker: string): string {
  return `#!/bin/sh\necho "ran $0 $*" >> '${marker}'\ncat\nexit 0\n`;
}

async function once(repo: string, script: FakeRun[], extraEnv: NodeJS.ProcessEnv = {}) {
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-'), ...extraEnv };
  const r = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  noStack(r.stdout + r.stderr);
  assert.is(readFakeLog(env).length, 2, `dispatch and the agent ran:\n${r.stdout + r.stderr}`);
  return { r, out: r.stdout + r.stderr, env };
}

async function config(repo: string, ...args: string[]): Promise<string | null> {
  const r = await run('git', ['config', ...args], { cwd: repo });
  return r.code === 0 ? r.stdout.trim() : null;
}

function quarantined(repo: string): string[] {
  const dir = join(repo, '.git', 'coven', 'quarantine');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== 'undone.json')
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

test('the agent commits .githooks/post-merge and sets core.hooksPath: the land does not run it, the setting is undone and the worker says so', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const marker = join(tempDir(), 'hook-ran');
  await sh(repo, 'config', 'core.hooksPath', '.my-hooks'); // the user's own setting, to come back
  const { r, out } = await once(
    repo,
    plan(
      { write: { path: '.githooks/post-merge', content: evilScript(marker) } },
      { bash: 'git add .githooks && git update-index --chmod=+x .githooks/post-merge && git commit -q -m hooks && git checkout -- .githooks' },
      { bash: 'git config core.hooksPath .githooks' },
    ),
  );
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'hooks', 'the work landed');
  assert.not.ok(existsSync(marker), `the agent's hook ran:\n${existsSync(marker) ? readFileSync(marker, 'utf8') : ''}`);
  assert.is(await config(repo, 'core.hooksPath'), '.my-hooks', 'core.hooksPath is back to what it was');
  assert.match(out, /core\.hookspath/i);
  assert.match(out, /undone/);
  assert.match(out, /git config core\.hooksPath \.githooks/, 'the command to make the change by hand');
});

test('the agent sets core.hooksPath in the human\'s ~/.gitconfig: the land does not run its hook, the global setting is undone', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const home = tempDir('coven-home-');
  const global = join(home, '.gitconfig');
  writeFileSync(global, '[user]\n\tname = Human\n');
  const marker = join(tempDir(), 'hook-ran');
  const hooks = join(tempDir(), 'evil-hooks');
  mkdirSync(hooks);
  writeFileSync(join(hooks, 'post-merge'), evilScript(marker));
  chmodSync(join(hooks, 'post-merge'), 0o755);
  const { r, out } = await once(repo, plan({ bash: `git config --global core.hooksPath '${hooks}'` }), { HOME: home, GIT_CONFIG_GLOBAL: global });
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a', 'the work landed');
  assert.not.ok(existsSync(marker), 'the agent\'s hook ran');
  assert.is(readFileSync(global, 'utf8').includes(hooks), false, `~/.gitconfig still names the agent's hooks:\n${readFileSync(global, 'utf8')}`);
  assert.match(readFileSync(global, 'utf8'), /name = Human/);
  assert.match(out, /core\.hookspath/i);
  assert.match(out, new RegExp(`git config --global core\\.hooksPath ${hooks.replace(/[/.]/g, '\\$&')}`));
});

test('the agent writes a hook into the common .git/hooks/ folder: it never runs, it is moved aside under the state dir and named', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const marker = join(tempDir(), 'hook-ran');
  const hooks = join(repo, '.git', 'hooks');
  // the user's own hook, which must stay
  writeFileSync(join(hooks, 'pre-push'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(hooks, 'pre-push'), 0o755);
  // with git alone (Bash(git *)): commit the hooks, then check them out into the common hooks folder
  const { r, out } = await once(
    repo,
    plan(
      { write: { path: 'post-merge', content: evilScript(marker) } },
      { write: { path: 'reference-transaction', content: evilScript(marker) } },
      { bash: 'git add post-merge reference-transaction && git update-index --chmod=+x post-merge reference-transaction && git commit -q -m hooks && git checkout -- post-merge reference-transaction' },
      { bash: `git --work-tree='${hooks}' checkout HEAD -- post-merge reference-transaction` },
    ),
  );
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'hooks', 'the work landed');
  assert.not.ok(existsSync(marker), `the agent's hook ran:\n${existsSync(marker) ? readFileSync(marker, 'utf8') : ''}`);
  assert.not.ok(existsSync(join(hooks, 'post-merge')));
  assert.not.ok(existsSync(join(hooks, 'reference-transaction')));
  assert.ok(existsSync(join(hooks, 'pre-push')), 'the user\'s own hook stays');
  const kept = quarantined(repo);
  assert.is(kept.length, 2, `moved aside, not deleted: ${kept.join(', ')}`);
  for (const f of kept) assert.is(readFileSync(f, 'utf8'), evilScript(marker));
  assert.match(out, /hooks\/post-merge/);
  assert.match(out, /quarantine/);
});

test('the agent sets core.fsmonitor to a program: coven\'s git status never runs it, and the setting is undone', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const marker = join(tempDir(), 'fsmonitor-ran');
  const prog = join(tempDir(), 'fsmonitor');
  writeFileSync(prog, `#!/bin/sh\necho "ran $*" >> '${marker}'\nexit 1\n`);
  chmodSync(prog, 0o755);
  const { r, out } = await once(repo, plan({ bash: `git config core.fsmonitor '${prog}'` }));
  assert.is(r.code, 0, out);
  assert.not.ok(existsSync(marker), 'the fsmonitor program ran');
  assert.is(await config(repo, 'core.fsmonitor'), null);
  assert.match(out, /core\.fsmonitor/);
});

test('a filter driver the agent sets, with a committed .gitattributes: the land does not run it, the setting is undone', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const marker = join(tempDir(), 'smudge-ran');
  const smudge = join(tempDir(), 'smudge');
  writeFileSync(smudge, evilScript(marker));
  chmodSync(smudge, 0o755);
  const { r, out } = await once(
    repo,
    plan(
      { bash: `git config filter.evil.smudge '${smudge}'` },
      { bash: 'git config filter.evil.clean cat' },
      { write: { path: '.gitattributes', content: '*.txt filter=evil\n' } },
      { write: { path: 'more.txt', content: 'more\n' } },
      { bash: 'git add .gitattributes more.txt && git commit -q -m attributes' },
    ),
  );
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'attributes', 'the work landed');
  // the land wrote more.txt into the main worktree: with the agent's filter, that ran its smudge
  assert.is(readFileSync(join(repo, 'more.txt'), 'utf8'), 'more\n');
  assert.not.ok(existsSync(marker), `the agent's filter ran:\n${existsSync(marker) ? readFileSync(marker, 'utf8') : ''}`);
  assert.is(await config(repo, 'filter.evil.smudge'), null);
  assert.is(await config(repo, 'filter.evil.clean'), null);
  assert.match(out, /filter\.evil\.smudge/);
});

test('an include.path, an alias and a config.worktree the agent adds are undone too; the user\'s own entries stay', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const marker = join(tempDir(), 'hook-ran');
  const hooks = join(tempDir(), 'evil-hooks');
  mkdirSync(hooks);
  writeFileSync(join(hooks, 'post-merge'), evilScript(marker));
  chmodSync(join(hooks, 'post-merge'), 0o755);
  const included = join(tempDir(), 'evil.config');
  writeFileSync(included, `[core]\n\thooksPath = ${hooks}\n`);
  await sh(repo, 'config', 'alias.st', 'status');
  const { r, out } = await once(
    repo,
    plan(
      { bash: `git config --add include.path '${included}'` },
      { bash: `git config alias.rebase '!touch ${marker}'` },
      { bash: `git config extensions.worktreeConfig true && git -C '${repo}' config --worktree core.hooksPath '${hooks}'` },
    ),
  );
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a', 'the work landed');
  assert.not.ok(existsSync(marker), 'the agent\'s program ran');
  assert.is(await config(repo, '--get-all', 'include.path'), null);
  assert.is(await config(repo, 'alias.rebase'), null);
  assert.is(await config(repo, 'extensions.worktreeConfig'), null);
  assert.is(existsSync(join(repo, '.git', 'config.worktree')) ? readFileSync(join(repo, '.git', 'config.worktree'), 'utf8').includes(hooks) : false, false);
  assert.is(await config(repo, 'alias.st'), 'status', 'the user\'s own entry stays');
  assert.match(out, /include\.path/);
});

test('the agent sets core.worktree to another folder and core.bare: undone before the land, which writes into the human\'s checkout as usual', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const elsewhere = tempDir('coven-elsewhere-');
  const { r, out } = await once(repo, plan({ bash: `git config core.worktree '${elsewhere}'` }, { bash: 'git config core.bare true' }));
  assert.is(r.code, 0, out);
  assert.is(readFileSync(join(repo, 'plan.txt'), 'utf8'), 'plan\n', 'the land wrote the human\'s checkout');
  assert.equal(readdirSync(elsewhere), [], 'nothing was written elsewhere');
  assert.is(await config(repo, 'core.worktree'), null);
  assert.is(await config(repo, 'core.bare'), 'false');
  assert.match(out, /core\.worktree/);
});

test('the git runner pins core.fsmonitor=false: a program set there by anyone never runs from coven\'s git', async () => {
  const repo = await tempRepo();
  const marker = join(tempDir(), 'fsmonitor-ran');
  const prog = join(tempDir(), 'fsmonitor');
  writeFileSync(prog, `#!/bin/sh\necho "ran $*" >> '${marker}'\nexit 1\n`);
  chmodSync(prog, 0o755);
  await sh(repo, 'config', 'core.fsmonitor', prog);
  writeFileSync(join(repo, 'README.md'), 'changed\n');
  const r = await git(repo, ['status', '--porcelain']);
  assert.ok(r.ok, r.stderr);
  assert.match(r.stdout, /README\.md/);
  assert.not.ok(existsSync(marker), 'the fsmonitor program ran');
  await sh(repo, 'status', '--porcelain'); // git run plainly does run it: the test is real
  assert.ok(existsSync(marker));
});

test('another worker\'s agent sets core.hooksPath while a land runs: the land runs the trusted hooks (coven\'s wake hook), never the agent\'s', async () => {
  const repo = await tempRepo();
  const wt = join(tempDir(), 'w1');
  await sh(repo, 'worktree', 'add', '-q', '--track', '-b', 'coven/w1', wt, 'main');
  await commitFile(wt, 'a.txt', 'agent\n');
  const marker = join(tempDir(), 'ran');
  const trustedHook = join(repo, '.git', 'hooks', 'post-merge');
  writeFileSync(trustedHook, `#!/bin/sh\necho trusted >> '${marker}'\n`);
  chmodSync(trustedHook, 0o755);
  assert.ok(await guardGitSetup(wt), 'the setup before the session is trusted');
  // meanwhile, an agent elsewhere (no undo has run yet)
  const evil = join(tempDir(), 'evil-hooks');
  mkdirSync(evil);
  for (const name of ['post-merge', 'reference-transaction']) {
    writeFileSync(join(evil, name), `#!/bin/sh\necho evil ${name} >> '${marker}'\n`);
    chmodSync(join(evil, name), 0o755);
  }
  await sh(repo, 'config', 'core.hooksPath', evil);
  const land = await landWorktree({ worktree: wt, keep: true });
  assert.is(land.kind, 'landed');
  assert.is(readFileSync(join(repo, 'a.txt'), 'utf8'), 'agent\n');
  assert.is(readFileSync(marker, 'utf8'), 'trusted\n', 'only the trusted post-merge ran');
});

test('two workers: one whose snapshot caught another agent\'s change never puts it back after the other undid it; the human making it again is trusted', async () => {
  const repo = await tempRepo();
  const stateDir = join(repo, '.git', 'coven');
  const w2 = await guardGitSetup(repo); // w2's session starts
  await sh(repo, 'config', 'core.hooksPath', '/elsewhere/hooks'); // w2's agent
  const w1 = await guardGitSetup(repo); // w1's session starts, with the change in place
  assert.is((await undoSetupChanges(w2!, stateDir)).length, 1, 'w2 undoes its agent\'s change');
  assert.is(await config(repo, 'core.hooksPath'), null);
  assert.equal(await undoSetupChanges(w1!, stateDir), [], 'w1 does not put it back');
  assert.is(await config(repo, 'core.hooksPath'), null);
  // later the human makes the change, with the command the message gave
  await sh(repo, 'config', 'core.hooksPath', '/elsewhere/hooks');
  const w3 = await guardGitSetup(repo);
  assert.equal(await undoSetupChanges(w3!, stateDir), []);
  assert.is(await config(repo, 'core.hooksPath'), '/elsewhere/hooks');
});

test('what coven itself writes during a session is left alone: a spawn\'s branch.<name>.* entries, coven hooks install', async () => {
  const repo = await tempRepo();
  const stateDir = join(repo, '.git', 'coven');
  const before = await guardGitSetup(repo);
  await sh(repo, 'worktree', 'add', '-q', '--track', '-b', 'coven/w2', join(tempDir(), 'w2'), 'main');
  const r = await coven(['hooks', 'install'], { cwd: repo });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.equal(await undoSetupChanges(before!, stateDir), []);
  assert.is(await config(repo, 'branch.coven/w2.merge'), 'refs/heads/main');
  assert.ok(existsSync(join(repo, '.git', 'hooks', 'post-merge')));
});

test('another worker\'s agent turns on commit signing with its own gpg.program while a land rebases: the land never runs it', async () => {
  const repo = await tempRepo();
  const wt = join(tempDir(), 'w1');
  await sh(repo, 'worktree', 'add', '-q', '--track', '-b', 'coven/w1', wt, 'main');
  await commitFile(wt, 'a.txt', 'agent\n');
  await commitFile(repo, 'b.txt', 'user\n'); // main moved: the land's rebase makes a commit
  assert.ok(await guardGitSetup(wt));
  const marker = join(tempDir(), 'gpg-ran');
  const prog = join(tempDir(), 'gpg');
  writeFileSync(prog, `#!/bin/sh\necho "ran $*" >> '${marker}'\ncat >/dev/null\necho '[GNUPG:] SIG_CREATED '\nexit 0\n`);
  chmodSync(prog, 0o755);
  for (const key of ['gpg.program', 'gpg.openpgp.program', 'gpg.ssh.program']) await sh(repo, 'config', key, prog);
  await sh(repo, 'config', 'commit.gpgSign', 'true');
  const land = await landWorktree({ worktree: wt, keep: true });
  assert.is(land.kind, 'landed', JSON.stringify(land));
  assert.is(readFileSync(join(repo, 'a.txt'), 'utf8'), 'agent\n');
  assert.not.ok(existsSync(marker), `the agent's signing program ran:\n${existsSync(marker) ? readFileSync(marker, 'utf8') : ''}`);
});

test('a committed hooks folder (core.hooksPath .githooks): hooks the agent changes or adds there are not run by coven\'s git in its worktree, nor by the land that brings them', async () => {
  const marker = join(tempDir(), 'hooks-ran');
  const userHook = `#!/bin/sh\necho "user $0" >> '${marker}'\n`;
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a'), '.githooks/post-merge': userHook });
  await sh(repo, 'update-index', '--chmod=+x', '.githooks/post-merge');
  await sh(repo, 'commit', '-q', '-m', 'hooks');
  await sh(repo, 'checkout', '--', '.githooks');
  await sh(repo, 'config', 'core.hooksPath', '.githooks');
  const evil = `#!/bin/sh\necho "evil $0 $* $(cat | tr '\\n' ' ')" >> '${marker}'\n`;
  const { r, out } = await once(
    repo,
    plan(
      { write: { path: '.githooks/post-merge', content: evil } },
      { write: { path: '.githooks/reference-transaction', content: evil } },
      { bash: 'git add .githooks && git update-index --chmod=+x .githooks/reference-transaction && git commit -q -m "change the hooks" && git checkout -- .githooks' },
    ),
  );
  assert.is(r.code, 0, out);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'change the hooks', 'the work landed');
  const ran = existsSync(marker) ? readFileSync(marker, 'utf8') : '';
  // not the agent's copies in its worktree, not the land's post-merge nor its ref update of main
  assert.not.match(ran, /evil \S*post-merge|coven-wt-|refs\/heads\/main/, `the agent's hooks ran:\n${ran}`);
  assert.not.match(ran, /user/, 'the land ran no hook, not even the user\'s (its folder was being changed)');
  // (landed, they are the repository's hooks: later git in the human's checkout runs them, coven's
  // removal of the worker's branch included — docs/trust.md, "Not covered")
  assert.match(out, /\.githooks\/post-merge/);
  assert.match(out, /not run/);
});

test('a worker killed (kill -9) during the session in which its agent set core.hooksPath: the next worker of that name undoes it and says so', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const never = join(tempDir(), 'never');
  const script: FakeRun[] = [
    { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
    { match: { promptIncludes: 'Plan the issue' }, steps: [{ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }, { bash: 'git config core.hooksPath /elsewhere/hooks' }, { wait_for_file: never, timeout_ms: 60_000 }, { text: 'Done.' }] },
    { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nsleep: nothing to do\n</dispatch>' }] },
  ];
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const first = startCoven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  await until(async () => (await config(repo, 'core.hooksPath')) !== null, 'the agent set core.hooksPath');
  process.kill(first.pid, 'SIGKILL');
  await first.exited;
  assert.is(await config(repo, 'core.hooksPath'), '/elsewhere/hooks', 'nothing undid it: the worker was killed');
  writeFileSync(never, ''); // the orphaned fake session may end now
  const again = await coven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  const out = again.stdout + again.stderr;
  noStack(out);
  assert.is(await config(repo, 'core.hooksPath'), null, out);
  assert.match(out, /cut short/);
  assert.match(out, /core\.hooksPath/);
  assert.is(await sh(repo, 'log', '-1', '--format=%s', 'main'), 'plan a', 'the commit it made still lands');
});

test('a worker killed (kill -9) during the session in which its agent set core.hooksPath, and never started again: coven gc undoes it and says so', async () => {
  const repo = await covenRepo({ 'issues/a.md': issueFile('Fix a') });
  const never = join(tempDir(), 'never');
  const script: FakeRun[] = [
    { match: { promptIncludes: 'Choose the next job' }, steps: [{ text: '<dispatch>\nagent: plan\nissue: issues/a.md\n</dispatch>' }] },
    { match: { promptIncludes: 'Plan the issue' }, steps: [{ write: { path: 'plan.txt', content: 'plan\n' } }, { commit: 'plan a' }, { bash: 'git config core.hooksPath /elsewhere/hooks' }, { wait_for_file: never, timeout_ms: 60_000 }, { text: 'Done.' }] },
  ];
  const env = { ...fakeClaudeEnv(script), COVEN_WORKTREE_BASE: tempDir('coven-wt-') };
  const first = startCoven(['worker', '--once', '--name', 'w1'], { cwd: repo, env });
  await until(async () => (await config(repo, 'core.hooksPath')) !== null, 'the agent set core.hooksPath');
  process.kill(first.pid, 'SIGKILL');
  await first.exited;
  writeFileSync(never, '');
  const dry = await coven(['gc', '--dry-run'], { cwd: repo, env });
  assert.is(await config(repo, 'core.hooksPath'), '/elsewhere/hooks', `--dry-run changes nothing:\n${dry.stdout}${dry.stderr}`);
  const gc = await coven(['gc'], { cwd: repo, env });
  const out = gc.stdout + gc.stderr;
  noStack(out);
  assert.is(gc.code, 3, out); // the worker itself is kept: its commit is not on main
  assert.is(await config(repo, 'core.hooksPath'), null, out);
  assert.match(out, /core\.hooksPath/);
  assert.match(out, /cut short/);
  const again = await coven(['gc'], { cwd: repo, env });
  assert.not.match(again.stdout + again.stderr, /core\.hooksPath/, 'said once: the record is gone');
});

test("the trusted value of a global setting is git's own: ~/.gitconfig wins over the XDG file (git reads it last)", async () => {
  const repo = await tempRepo();
  const home = tempDir('coven-home-');
  const xdg = tempDir('coven-xdg-');
  mkdirSync(join(xdg, 'git'));
  writeFileSync(join(home, '.gitconfig'), '[core]\n\thooksPath = /from/home-gitconfig\n');
  writeFileSync(join(xdg, 'git', 'config'), '[core]\n\thooksPath = /from/xdg\n');
  const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME, GIT_CONFIG_GLOBAL: process.env.GIT_CONFIG_GLOBAL };
  process.env.HOME = home;
  process.env.XDG_CONFIG_HOME = xdg;
  delete process.env.GIT_CONFIG_GLOBAL;
  try {
    const gitSays = await sh(repo, 'config', 'core.hooksPath');
    assert.is(gitSays, '/from/home-gitconfig');
    const setup = await snapshotGitSetup(join(repo, '.git'), repo);
    assert.is(hooksPathValue(setup.configs), gitSays);
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
});

test.run();
