// process-groups — a group whose only member is a zombie is gone: the session does not
// wait for init to reap it (Codex left a zombie `git` each session, about a second).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ProcessGroups, livingMember } from '../scripts/lib/session/process-groups.js';

/** A python parent that forks a child into a group of its own; the child exits, the parent never waits for it. */
async function zombieInOwnGroup(): Promise<{ zombie: number; stop: () => void }> {
  const code = 'import os,sys,time\npid=os.fork()\nif pid==0:\n  os.setpgid(0,0)\n  os._exit(0)\nprint(pid,flush=True)\ntime.sleep(30)\n';
  const parent = spawn('python3', ['-c', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const zombie = await new Promise<number>((done, fail) => {
    parent.stdout.once('data', (d: Buffer) => done(Number(d.toString().trim())));
    parent.once('error', fail);
  });
  // wait until the child has exited (state Z)
  for (let i = 0; i < 100; i++) {
    if (readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { zombie, stop: () => parent.kill('SIGKILL') };
}

test('a group holding only a zombie is not alive, though a signal still reaches it', async () => {
  const { zombie, stop } = await zombieInOwnGroup();
  try {
    assert.is(readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]?.[0], 'Z', 'the child is a zombie');
    process.kill(-zombie, 0); // the kernel still counts the group
    assert.is(livingMember(zombie), false);
    const groups = new ProcessGroups(zombie);
    assert.is(groups.alive(), false);
    const started = Date.now();
    await groups.end(5000);
    assert.ok(Date.now() - started < 500, `end() did not wait for the zombie (${Date.now() - started} ms)`);
  } finally {
    stop();
  }
});

test('a group with a running member is alive', async () => {
  const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  try {
    assert.ok(child.pid);
    assert.is(livingMember(child.pid!), true);
    assert.is(new ProcessGroups(child.pid).alive(), true);
  } finally {
    child.kill('SIGKILL');
  }
});

test.run();
