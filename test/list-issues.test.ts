import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssues, parseIssueFile, sortIssues, type IssueEntry } from '../scripts/list-issues.js';
import { commitFile, coven, tempDir, tempRepo } from './helpers/repo.js';

const bytes = (s: string) => Buffer.from(s, 'utf8');

// [what, path, content, expected entry without the path]
const files: [string, string, Buffer, Omit<IssueEntry, 'path'>][] = [
  ['a complete issue', 'issues/fix-scroll.md', bytes('---\npriority: P1\nstate: approved\ntitle: Fix the scroll jump\n---\nDetails\n'), { state: 'approved', priority: 'P1', title: 'Fix the scroll jump', note: null }],
  ['the title falls back to the first # heading', 'issues/a.md', bytes('---\npriority: P0\nstate: new\n---\nintro\n## Sub\n# Crash on start ##\n# Second\n'), { state: 'new', priority: 'P0', title: 'Crash on start', note: null }],
  ['a heading ending in # keeps it', 'issues/c.md', bytes('---\nstate: review\n---\n# Support C#\n'), { state: 'review', priority: '?', title: 'Support C#', note: null }],
  ['the title falls back to the file name', 'review/plain.md', bytes('---\npriority: P2\nstate: changes-requested\n---\nno heading\n'), { state: 'changes-requested', priority: 'P2', title: 'plain.md', note: null }],
  ['no frontmatter: unknown state and priority, heading title', 'issues/raw.md', bytes('# Just text\n'), { state: '?', priority: '?', title: 'Just text', note: null }],
  ['unknown values are shown with ?', 'issues/u.md', bytes('---\npriority: urgent\nstate: doing\n---\n# U\n'), { state: '?doing', priority: '?urgent', title: 'U', note: null }],
  ['a non-scalar value is ?', 'issues/l.md', bytes('---\npriority: [P0]\nstate: {a: 1}\ntitle: [x]\n---\n# L\n'), { state: '?', priority: '?', title: 'L', note: null }],
  ['needs-replan is a known state', 'review/n.md', bytes('---\nstate: needs-replan\npriority: P0\n---\n'), { state: 'needs-replan', priority: 'P0', title: 'n.md', note: null }],
  ['a YAML error is a note, never fatal', 'issues/bad.md', bytes('---\npriority: [P0\n---\n# Bad\n'), { state: '?', priority: '?', title: 'bad.md', note: 'bad frontmatter: YAML syntax error at line 3: unexpected end of the stream within a flow collection' }],
  ['unclosed frontmatter is a note', 'issues/open.md', bytes('---\npriority: P0\n# Open\n'), { state: '?', priority: '?', title: 'open.md', note: "bad frontmatter: not closed: add a line '---' after the last key" }],
  ['bytes that are not UTF-8 are a note', 'issues/latin1.md', Buffer.from([0x2d, 0x2d, 0x2d, 0x0a, 0x74, 0x69, 0x74, 0x6c, 0x65, 0x3a, 0x20, 0xe9, 0x0a, 0x2d, 0x2d, 0x2d, 0x0a]), { state: '?', priority: '?', title: 'latin1.md', note: 'bad frontmatter: not UTF-8 text' }],
  ['a BOM is fine', 'issues/bom.md', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes('---\npriority: P1\nstate: new\n---\n# Bom\n')]), { state: 'new', priority: 'P1', title: 'Bom', note: null }],
  ['a multi-line title becomes one line', 'issues/m.md', bytes('---\ntitle: |\n  two\n  lines\n---\n'), { state: '?', priority: '?', title: 'two lines', note: null }],
];

for (const [what, path, content, expected] of files) {
  test(`issue file: ${what}`, () => {
    assert.equal(parseIssueFile(path, content), { path, ...expected });
  });
}

test('the same bad file read twice is reported twice (gray-matter caches by input)', () => {
  const content = bytes('---\npriority: [P0 twice\n---\n');
  for (let i = 0; i < 2; i++) assert.match(parseIssueFile('issues/x.md', content).note ?? '', /^bad frontmatter: YAML syntax error at line 3:/);
});

test('issues sort by priority (unknown last), then path', () => {
  const e = (path: string, priority: string): IssueEntry => ({ path, priority, state: 'new', title: path, note: null });
  const sorted = sortIssues([e('issues/z.md', 'P2'), e('review/a.md', '?'), e('issues/b.md', 'P0'), e('review/b.md', 'P0'), e('issues/a.md', '?x'), e('issues/c.md', 'P1')]);
  assert.equal(sorted.map((x) => x.path), ['issues/b.md', 'review/b.md', 'issues/c.md', 'issues/z.md', 'issues/a.md', 'review/a.md']);
});

test('the listing is aligned, one line per issue', () => {
  assert.is(
    formatIssues([
      { path: 'issues/a.md', state: 'approved', priority: 'P0', title: 'A', note: null },
      { path: 'review/bb.md', state: 'new', priority: '?', title: 'bb.md', note: 'bad frontmatter: not UTF-8 text' },
    ]),
    'issues/a.md   approved  P0  A\nreview/bb.md  new       ?   bb.md (bad frontmatter: not UTF-8 text)\n',
  );
  assert.is(formatIssues([]), 'no issues\n');
});

test('coven issues lists issues/ and review/ of this worktree, sorted', async () => {
  const repo = await tempRepo();
  await commitFile(repo, 'issues/fix-scroll.md', '---\npriority: P1\nstate: approved\n---\n# Fix scroll\n');
  await commitFile(repo, 'issues/crash.md', '---\npriority: P0\nstate: new\n---\n# Crash\n');
  await commitFile(repo, 'review/plan-x.md', '---\npriority: P1\nstate: review\ntitle: Plan X\n---\n');
  await commitFile(repo, 'issues/broken.md', '---\npriority: [\n---\n');
  await commitFile(repo, 'issues/notes.txt', 'not an issue');
  await commitFile(repo, 'issues/done/old.md', '---\npriority: P0\n---\n');
  mkdirSync(join(repo, 'src'));
  const r = await coven(['issues'], { cwd: join(repo, 'src') });
  assert.is(r.code, 0, r.stderr);
  assert.is(
    r.stdout,
    [
      'issues/crash.md       new       P0  Crash',
      'issues/fix-scroll.md  approved  P1  Fix scroll',
      'review/plan-x.md      review    P1  Plan X',
      'issues/broken.md      ?         ?   broken.md (bad frontmatter: YAML syntax error at line 3: unexpected end of the stream within a flow collection)',
      '',
    ].join('\n'),
  );
});

test('coven issues --json prints the entries', async () => {
  const repo = await tempRepo();
  await commitFile(repo, 'review/a.md', '---\npriority: P2\nstate: approved\n---\n# A\n');
  writeFileSync(join(repo, 'review', 'bin.md'), Buffer.from([0xff, 0xfe, 0x00]));
  const r = await coven(['issues', '--json'], { cwd: repo });
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), [
    { path: 'review/a.md', state: 'approved', priority: 'P2', title: 'A', note: null },
    { path: 'review/bin.md', state: '?', priority: '?', title: 'bin.md', note: 'bad frontmatter: not UTF-8 text' },
  ]);
});

test('coven issues with no issue directories prints "no issues" and exits 0', async () => {
  const repo = await tempRepo();
  const r = await coven(['issues'], { cwd: repo });
  assert.is(r.code, 0);
  assert.is(r.stdout, 'no issues\n');
  mkdirSync(join(repo, 'issues'));
  const empty = await coven(['issues', '--json'], { cwd: repo });
  assert.equal(JSON.parse(empty.stdout), []);
});

test('coven issues outside a git repository exits 2 with a clear message', async () => {
  const r = await coven(['issues'], { cwd: tempDir(), env: { GIT_CEILING_DIRECTORIES: '/' } });
  assert.is(r.code, 2);
  assert.match(r.stderr, /is not inside a git worktree/);
});

test('coven issues --help describes the line format', async () => {
  const r = await coven(['issues', '--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /<path>  <state>  <priority>  <title>/);
});

test.run();
