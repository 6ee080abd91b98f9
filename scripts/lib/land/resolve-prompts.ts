// resolve prompts — what a conflict resolution tells the agent (the files, both sides'
// commits, the exact commands), and the check that a finished resolution left no
// conflict markers behind (part of resolve-conflict.ts).

import { git } from '../git/runner.js';
import type { Conflict } from './resolve-conflict.js';

/** How the previous round ended, for the next prompt: still conflicted, not finished (aborted), overtaken by main, or finished with conflict markers left in. */
export type LastRound = 'stuck' | 'unfinished' | 'overtaken' | 'markers' | null;

/**
 * Conflict-marker lines (`<<<<<<< ` or `>>>>>>> ` at the start) that `to` adds in `files`
 * compared with `from`, as `file:line`. Only the files git stopped on are looked at, so a
 * file that holds such lines on purpose elsewhere does not count.
 */
export async function leftoverMarkers(worktree: string, from: string, to: string, files: string[]): Promise<string[]> {
  if (files.length === 0) return [];
  const r = await git(worktree, ['diff', '--no-color', '--no-ext-diff', '-U0', from, to, '--', ...files.map((f) => `:(literal)${f}`)]);
  if (!r.ok) return [];
  const found: string[] = [];
  let file = '';
  let line = 0;
  for (const text of r.stdout.split('\n')) {
    if (text.startsWith('+++ ')) file = text.startsWith('+++ b/') ? text.slice(6) : '';
    else if (text.startsWith('@@')) line = Number(/\+(\d+)/.exec(text)?.[1] ?? 0);
    else if (text.startsWith('+')) {
      if (/^(<{7}|>{7})(?: |$)/.test(text.slice(1))) found.push(`${file}:${line}`);
      line++;
    }
  }
  return found;
}

/** The prompt after a resolution that finished the rebase but left conflict markers in. */
export function markersPrompt(worktree: string, onto: string, markers: string[], round: number, rounds: number): string {
  return `Your resolution finished the rebase, but conflict markers are still in the files (round ${round} of ${rounds}):
${markers.map((m) => `- ${m}`).join('\n')}

coven does not land a change that adds <<<<<<< or >>>>>>> lines to ${onto}. In ${worktree}:
1. Open each file above and merge both sides there so that both intents survive;
   remove every <<<<<<<, ======= and >>>>>>> marker.
2. git add <each file> && git commit -m 'Resolve the conflict markers left by the rebase'
Do not run git rebase, git reset, git checkout or git push: coven lands the result itself.`;
}

/** The resolution prompt: files, both sides' commits (theirs: on `ontoRef`, what the land rebases onto), the exact commands. */
export async function conflictPrompt(worktree: string, c: Conflict, round: number, rounds: number, last: LastRound = null, ontoRef = `refs/heads/${c.onto}`): Promise<string> {
  const onto = c.onto;
  // during a rebase HEAD sits on main's tip; the branch ref still holds the commits being replayed
  const mine = `refs/heads/${c.branch}`;
  const base = (await git(worktree, ['merge-base', mine, ontoRef])).stdout.trim();
  const theirs = base ? await subjects(worktree, `${base}..${ontoRef}`) : [];
  const ours = base ? await subjects(worktree, `${base}..${mine}`) : [];
  const files = c.files.length > 0 ? c.files.map((f) => `- ${f}`).join('\n') : '- (none marked as conflicted; git stopped for another reason: see git status)';
  const again =
    last === 'overtaken'
      ? `Your last resolution worked, but ${onto} moved on while you resolved, and the new\ncommits conflict with yours too.\n`
      : last === 'unfinished'
        ? `Your last session ended without finishing the rebase (it was aborted, so your branch\nwent back to where it was); coven started it again. Finish it this time.\n`
        : '';
  return `${again}Landing your work on ${onto} stopped on a rebase conflict (round ${round} of ${rounds}).
Your branch ${c.branch} is being rebased onto ${onto}; git stopped while applying
${c.commit ? `${c.commit.slice(0, 10)} "${c.subject}"` : 'one of your commits'}.

Conflicted files:
${files}

Commits on ${onto} that your branch did not have (the other side):
${theirs.length > 0 ? theirs.join('\n') : '- (none found)'}

Your commits being replayed:
${ours.length > 0 ? ours.join('\n') : '- (none found)'}

Resolve it here, in ${worktree}:
1. Open each conflicted file and merge both sides so that both intents survive;
   remove every <<<<<<<, ======= and >>>>>>> marker.
2. git add <each resolved file>
3. git -c core.editor=true rebase --continue
4. If git stops again with new conflicts, repeat 1-3. You are done when
   \`git status\` no longer says a rebase is in progress.
Do not run git rebase --abort, git reset, git checkout or git push: coven lands the
result itself once the rebase is finished.`;
}

async function subjects(worktree: string, range: string): Promise<string[]> {
  const r = await git(worktree, ['log', '--reverse', '--format=- %h %s', '-n', '20', range]);
  return r.ok ? r.stdout.split('\n').filter(Boolean) : [];
}
