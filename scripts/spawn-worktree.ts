// spawn-worktree — placeholder until implemented.
export async function main(_argv: string[]): Promise<number> {
  process.stderr.write('coven: not implemented yet\n');
  return 1;
}
