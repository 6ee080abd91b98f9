// same-path — whether two paths name the same existing folder or file (symlinks
// resolved); false when either does not exist.

import { realpathSync } from 'node:fs';

export function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
