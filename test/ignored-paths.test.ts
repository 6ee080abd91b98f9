import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { intersectEntries, keepDeepest, parseLsFilesZ, type IgnoredEntry } from '../scripts/lib/worktree/ignored-paths.js';
import { branchInTheWay, worktreeBase } from '../scripts/lib/worktree/spawn.js';

const e = (...paths: string[]): IgnoredEntry[] => paths.map((p) => (p.endsWith('/') ? { path: p.slice(0, -1), dir: true } : { path: p, dir: false }));
const names = (entries: IgnoredEntry[]) => entries.map((x) => (x.dir ? `${x.path}/` : x.path));

test('parseLsFilesZ tells folders (trailing slash) from files', () => {
  assert.equal(parseLsFilesZ('.env\0node_modules/\0a b/c.log\0'), e('.env', 'node_modules/', 'a b/c.log'));
  assert.equal(parseLsFilesZ(''), []);
});

test('keepDeepest drops untracked folders that git lists next to their ignored files', () => {
  const cases: [string[], string[]][] = [
    [['node_modules/', '.env'], ['.env', 'node_modules/']],
    [['src/', 'src/gen/', 'src/gen/a.log'], ['src/gen/a.log']],
    [['pkg/', 'pkg/node_modules/', 'pkg2/node_modules/'], ['pkg/node_modules/', 'pkg2/node_modules/']],
    // 'src-x' sorts between 'src' and 'src/…'
    [['src/', 'src-x/', 'src/a.log'], ['src-x/', 'src/a.log']],
    [['build/', 'build.log'], ['build/', 'build.log']],
  ];
  for (const [input, want] of cases) assert.equal(names(keepDeepest(e(...input))), want, input.join(' '));
});

test('intersectEntries keeps what is both ignored and included, at the finer grain', () => {
  const cases: [string[], string[], string[]][] = [
    // include names a part of an ignored folder
    [['node_modules/'], ['node_modules/a/', 'node_modules/b.js'], ['node_modules/a/', 'node_modules/b.js']],
    // include names a folder holding ignored files
    [['build/x.o', 'build/y.o', 'src/z.o'], ['build/'], ['build/x.o', 'build/y.o']],
    // included but not ignored (untracked) is never copied
    [['.env'], ['.env', 'notes.txt', 'mixed/'], ['.env']],
    // same folder on both sides
    [['.cache/'], ['.cache/'], ['.cache/']],
    // nothing included
    [['node_modules/', '.env'], [], []],
    // a sibling that only shares a prefix is not inside
    [['node_modules/'], ['node_modules-old/'], []],
  ];
  for (const [ignored, included, want] of cases) assert.equal(names(intersectEntries(e(...ignored), e(...included))), want, `${ignored} ∩ ${included}`);
});

test('branchInTheWay finds the same name, a parent and a child branch', () => {
  const refs = new Set(['refs/heads/main', 'refs/heads/coven/brave-otter', 'refs/heads/feature', 'refs/remotes/origin/x']);
  assert.is(branchInTheWay(refs, 'main'), 'main');
  assert.is(branchInTheWay(refs, 'feature/sub'), 'feature');
  assert.is(branchInTheWay(refs, 'coven'), 'coven/brave-otter');
  assert.is(branchInTheWay(refs, 'coven/calm-heron'), null);
  assert.is(branchInTheWay(refs, 'origin/x'), null);
});

test('worktreeBase: flag, then COVEN_WORKTREE_BASE, then ~/worktrees; ~ expanded, relative to cwd', () => {
  const env = { COVEN_WORKTREE_BASE: '/env/base' };
  assert.is(worktreeBase('/repo', '/flag/base', env), '/flag/base');
  assert.is(worktreeBase('/repo', undefined, env), '/env/base');
  assert.is(worktreeBase('/repo', 'rel', env), '/repo/rel');
  assert.match(worktreeBase('/repo', undefined, {}), /\/worktrees$/);
  assert.not.match(worktreeBase('/repo', '~/wt', {}), /~/);
});

test.run();
