// suite: long
// Faults around the worker loop: a lock holder killed with kill -9 mid-dispatch, damaged
// state and lock files. Real `coven worker` processes, real git, the fake claude.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coven, commitFile, sh, tempDir } from './helpers/repo.js';
import { covenRepo, issueFile } from './helpers/coven-repo.js';
import { fakeClaudeEnv, readFakeLog } from './helpers/fake-claude.js';
import { childPids, dispatchRun, implementRun, isDispatch, outputOf, phaseOf, shDispatchAgent, startWorker, stopAll, waitFor, writeDispatchScript, type WorkerProc } from './helpers/worker-procs.js';

async function setUp(issues: string[], runs: (dir: string, dispatch: string) => Parameters<typeof fakeClaudeEnv>[0]) {
  const files: Record<string, string> = { '.coven/agents/dispatch.md': shDispatchAgent };
  for (const id of issues) files[`issues/${id}.md`] = issueFile(`Issue ${id}`);
  const repo = await covenRepo(files);
  const dir = tempDir('coven-faults-');
  const dispatch = writeDispatchScript(dir, join(dir, 'choices.txt'));
  const env = { ...fakeClaudeEnv(runs(dir, dispatch), dir), COVEN_WORKTREE_BASE: join(dir, 'worktrees'), COVEN_RETRY_MS: '200', COVEN_SAFETY_INTERVAL_MS: '5000' };
  assert.is((await coven(['hooks', 'install'], { cwd: repo })).code, 0);
  return { repo, dir, env, stateDir: join(repo, '.git', 'coven') };
}

/** A dispatch script that hangs (holding the lock) the first time it finds dir/hang-once. */
function hangOnce(dir: string, dispatch: string): string {
  const file = join(dir, 'hang-once.sh');
  writeFileSync(file, `if mv '${join(dir, 'hang-once')}' '${join(dir, 'hanging')}' 2>/dev/null; then sleep 600; fi\nexec ${dispatch}\n`);
  return file;
}

const landedSubjects = async (repo: string) => (await sh(repo, 'log', '--format=%s', 'main')).split('\n').filter((s) => s.startsWith('implement '));

test('kill -9 of the dispatch lock holder mid-dispatch: the others take over at once; gc leaves nothing of it but its landed commits', async () => {
  const { repo, dir, env, stateDir } = await setUp(['a', 'b', 'c'], (dir, dispatch) => [
    // the first dispatch after the marker appears hangs, holding the lock
    { match: { promptIncludes: 'Choose the next job' }, times: 'unlimited', steps: [{ reply_from_bash: `sh ${hangOnce(dir, dispatch)}` }] },
    ...['a', 'b', 'c', 'd'].map((id) => implementRun(id)),
  ]);
  const names = ['w1', 'w2', 'w3'];
  const workers: WorkerProc[] = names.map((n) => startWorker(repo, n, env));
  const why = () => outputOf(workers);
  let orphans: number[] = [];
  try {
    await waitFor(async () => (await landedSubjects(repo)).length === 3 && names.every((n) => phaseOf(repo, n) === 'sleeping'), 'a, b, c landed and all asleep', 60_000, why);

    writeFileSync(join(dir, 'hang-once'), '');
    await commitFile(repo, 'issues/d.md', issueFile('Issue d'), 'file issue d');
    await waitFor(() => existsSync(join(dir, 'hanging')), 'a dispatch session hanging', 60_000, why);
    const holder = (JSON.parse(readFileSync(join(stateDir, 'locks', 'dispatch'), 'utf8')) as { worker: string; pid: number }).worker;
    const victim = workers.find((w) => w.name === holder)!;
    assert.ok(victim, `the lock is held by one of the workers (${holder})`);
    await waitFor(() => names.filter((n) => n !== holder).every((n) => phaseOf(repo, n) === 'dispatching'), 'the others queue for the lock', 60_000, why);
    orphans = childPids(victim.pid); // its claude session, which outlives it (own process group)
    const madeByVictim = readFakeLog(env)
      .filter((c) => !isDispatch(c) && c.cwd.endsWith(`/coven/${holder}`))
      .map((c) => /issues\/(\w)\.md/.exec(c.prompts[0] ?? '')?.[1]);
    victim.child.kill('SIGKILL');
    await victim.exited;

    // the others break the dead holder's lock and go on: d lands
    await waitFor(async () => (await landedSubjects(repo)).includes('implement d'), 'issue d landed by a surviving worker', 30_000, why);
    const survivors = workers.filter((w) => w !== victim);
    await waitFor(() => survivors.every((w) => phaseOf(repo, w.name) === 'sleeping'), 'the survivors asleep', 60_000, why);

    const status = await coven(['status'], { cwd: repo });
    assert.match(status.stdout, new RegExp(`${holder}\\s+dead \\(was dispatching\\)`));
    const gc = await coven(['gc'], { cwd: repo });
    assert.is(gc.code, 0, gc.stdout + gc.stderr);
    assert.match(gc.stdout, new RegExp(`${holder}: removed worktree`));
    assert.is(await sh(repo, 'branch', '--list', `coven/${holder}`), '');
    assert.not.ok(existsSync(join(dir, 'worktrees', 'project', 'coven', holder)));
    assert.not.ok(existsSync(join(stateDir, 'workers', `${holder}.json`)));
    const lock = join(stateDir, 'locks', 'dispatch');
    assert.ok(!existsSync(lock) || !readFileSync(lock, 'utf8').includes(`"${holder}"`), 'no lock of the dead worker is left');
    const onMain = await landedSubjects(repo);
    for (const id of madeByVictim) assert.ok(onMain.includes(`implement ${id}`), `its commit for ${id} is on main`);
    assert.equal(onMain.sort(), ['implement a', 'implement b', 'implement c', 'implement d']);
  } finally {
    for (const pid of orphans) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await stopAll(workers);
  }
});

test('damaged state and lock files are reported and worked around: the worker keeps working, status and gc say what is wrong', async () => {
  const { repo, env, stateDir } = await setUp(['a'], (_dir, dispatch) => [dispatchRun(dispatch), implementRun('a'), implementRun('b')]);
  mkdirSync(join(stateDir, 'workers'), { recursive: true });
  mkdirSync(join(stateDir, 'locks'), { recursive: true });
  writeFileSync(join(stateDir, 'workers', 'ghost.json'), '');
  writeFileSync(join(stateDir, 'workers', 'junk.json'), '{"name": "junk", "pid": ');
  const lock = join(stateDir, 'locks', 'dispatch');
  writeFileSync(lock, ''); // a holder that died between creating the lock file and writing it
  const before = await coven(['status'], { cwd: repo });
  assert.is(before.code, 0, before.stderr);
  assert.match(before.stdout, /dispatch lock: lock file is corrupt \(empty\)/);
  assert.match(before.stdout, /corrupt state file .*ghost\.json: empty file/);
  assert.match(before.stdout, /corrupt state file .*junk\.json: not valid JSON/);
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old); // not refreshed for a minute: breakable

  const w1 = startWorker(repo, 'w1', env);
  const why = () => outputOf([w1]);
  let ends: Awaited<ReturnType<typeof stopAll>> = [];
  try {
    await waitFor(async () => (await landedSubjects(repo)).length === 1 && phaseOf(repo, 'w1') === 'sleeping', 'a landed despite the damaged files', 60_000, why);

    // its own state file is damaged while it sleeps (a disk hiccup, a careless editor)
    writeFileSync(join(stateDir, 'workers', 'w1.json'), '{"name": "w1", "ph');
    const during = await coven(['status'], { cwd: repo });
    assert.match(during.stdout, /corrupt state file .*w1\.json: not valid JSON/);
    await commitFile(repo, 'issues/b.md', issueFile('Issue b'), 'file issue b');
    await waitFor(async () => (await landedSubjects(repo)).length === 2 && phaseOf(repo, 'w1') === 'sleeping', 'b landed; w1 rewrote its state', 60_000, why);

    const gc = await coven(['gc'], { cwd: repo });
    assert.is(gc.code, 0, gc.stdout + gc.stderr);
    assert.match(gc.stdout, /corrupt state file .*ghost\.json: empty file/);
    assert.match(gc.stdout, /running \(not touched\): w1/);
  } finally {
    ends = await stopAll([w1]);
  }
  assert.is(ends[0]!.code, 0, why());
  assert.not.match(w1.stderr(), /unexpected error/);
  assert.equal(readdirSync(join(stateDir, 'workers')).sort(), ['ghost.json', 'junk.json']);
});

test.run();
