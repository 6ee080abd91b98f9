import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chooseJob, dispatchAnswer, takenIssues } from '../demo/stand-in.js';
import { checkDispatchOutput, type DispatchableAgent } from '../scripts/lib/agents/dispatch-decision.js';
import type { IssueEntry } from '../scripts/list-issues.js';

const issue = (path: string, state: string, priority = 'P2'): IssueEntry => ({ path, state, priority, title: path, note: null });
const none = new Map<string, string>();

test('the demo dispatcher follows the template: priority first, then revise, plan, implement', () => {
  const list = [issue('issues/a.md', 'approved', 'P1'), issue('issues/b.md', 'new', 'P1'), issue('review/c.md', 'needs-replan', 'P1'), issue('issues/z.md', 'new', 'P0')];
  assert.equal(chooseJob(list, none), { kind: 'run', agent: 'plan', issue: 'issues/z.md', why: 'issues/z.md is new (P0) and no other worker has it: planning it.' });
  assert.is((chooseJob(list.slice(0, 3), none) as { issue: string }).issue, 'review/c.md');
  assert.is((chooseJob(list.slice(0, 2), none) as { issue: string }).issue, 'issues/b.md');
});

test('an issue another worker has is not ready, in either folder', () => {
  const taken = takenIssues('…\n## The other workers right now\n\n- amber-fox: running plan (issue: issues/b.md), for 3s\n- calm-heron: sleeping, for 1s\n');
  assert.equal([...taken], [['b.md', 'amber-fox']]);
  const c = chooseJob([issue('review/b.md', 'approved'), issue('issues/d.md', 'approved')], taken);
  assert.is(c.kind === 'run' && c.issue, 'issues/d.md');
});

test('three plans in review stop planning P1/P2 issues; nothing ready means sleep, with a reason', () => {
  const review = [issue('review/a.md', 'review'), issue('review/b.md', 'review'), issue('review/c.md', 'review')];
  assert.equal(chooseJob([...review, issue('issues/n.md', 'new')], none), { kind: 'sleep', reason: '3 plans wait for human review (review/a.md, review/b.md, review/c.md); nothing else is ready' });
  assert.is(chooseJob([...review, issue('issues/n.md', 'new', 'P0')], none).kind, 'run');
  assert.equal(chooseJob([], none), { kind: 'sleep', reason: 'no open issues' });
});

test('its answers pass coven\'s dispatch validation', () => {
  const arg = { name: 'issue', description: 'the issue', required: true };
  const agents: DispatchableAgent[] = [{ name: 'plan', description: 'plans', args: [arg] }, { name: 'implement', description: 'implements', args: [arg] }];
  for (const c of [chooseJob([issue('issues/a.md', 'new')], none), chooseJob([], none)]) {
    const checked = checkDispatchOutput(dispatchAnswer(c), agents);
    assert.is(checked.kind, 'valid', JSON.stringify(checked));
  }
});

test.run();
