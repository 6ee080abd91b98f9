// worker-name — short readable names for workers (`brave-otter`), used for the
// branch `coven/<name>`, the state file and the log folder.

const adjectives = ['amber', 'bold', 'brave', 'calm', 'clever', 'eager', 'fond', 'gentle', 'glad', 'keen', 'kind', 'lively', 'lucky', 'merry', 'mild', 'neat', 'nimble', 'proud', 'quick', 'quiet', 'rapid', 'sharp', 'shy', 'steady', 'sunny', 'swift', 'tidy', 'warm', 'wise', 'witty'];
const animals = ['badger', 'beaver', 'crane', 'crow', 'deer', 'falcon', 'ferret', 'finch', 'fox', 'gecko', 'hare', 'heron', 'ibis', 'lark', 'lynx', 'marten', 'mole', 'newt', 'otter', 'owl', 'panda', 'puffin', 'raven', 'robin', 'seal', 'stoat', 'swan', 'toad', 'vole', 'wren'];

export const WORKER_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** A random name not in `taken`. */
export function randomWorkerName(taken: ReadonlySet<string> = new Set(), random: () => number = Math.random): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  for (let i = 0; i < 50; i++) {
    const name = `${pick(adjectives)}-${pick(animals)}`;
    if (!taken.has(name)) return name;
  }
  for (let n = 2; ; n++) {
    const name = `${pick(adjectives)}-${pick(animals)}-${n}`;
    if (!taken.has(name)) return name;
  }
}
