// alive — whether a process is running, for tests that check what a kill left behind. A
// zombie nobody has reaped yet is not (in a container, pid 1 may never reap it).

import { existsSync, readFileSync } from 'node:fs';

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    // gone between the two looks, or no /proc on this system (then kill(0) is all there is)
    return !existsSync('/proc/self') || existsSync(`/proc/${pid}`);
  }
}
