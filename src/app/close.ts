// Shutting down is a list of steps that must all run: one failing step (a final drain that finds
// Redis gone) must not leave the database pool, the workers or the sockets open behind it.

/** Runs every step in order; then throws the first failure, if any. */
export async function closeAll(steps: readonly (() => Promise<unknown> | void)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}
