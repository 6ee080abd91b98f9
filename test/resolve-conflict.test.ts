// resolve-conflict — the prompt that resumes an agent on a rebase conflict, built from
// a real conflict in a temporary repository.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { landWorktree } from '../scripts/land-worktree.js';
import { conflictPrompt } from '../scripts/lib/resolve-conflict.js';
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

test.run();
