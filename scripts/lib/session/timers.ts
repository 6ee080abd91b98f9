// timers — the timers of one session, so that its end clears every one still pending.

export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();

  /** Runs fn after ms (unless cleared first). */
  later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.pending.delete(t);
      fn();
    }, ms);
    this.pending.add(t);
    return t;
  }

  cancel(t: NodeJS.Timeout | null): void {
    if (t) {
      clearTimeout(t);
      this.pending.delete(t);
    }
  }

  clearAll(): void {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }
}
