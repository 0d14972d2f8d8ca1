// What the benchmarks share: settings, a local chain with the suite, the machine facts, the
// results file and undoing their setup.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startDevChain } from "../src/devchain/devchain.ts";
import { ensureSuite } from "../src/devstack/suite.ts";

/** A cleanup step: a database to drop, a chain or server to stop, a folder to remove. */
export type CleanupStep = () => Promise<unknown> | void;

/** Writes `results` to bench/results/<name>.json; returns the file's path. */
export function writeResults(name: string, results: unknown): string {
  const out = fileURLToPath(new URL(`./results/${name}.json`, import.meta.url));
  mkdirSync(join(out, ".."), { recursive: true });
  writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
  return out;
}

/** Runs the steps newest first; a failing step is reported and the rest still run. */
export async function cleanUp(steps: CleanupStep[]): Promise<void> {
  for (const step of steps.reverse()) {
    try {
      await step();
    } catch (error) {
      console.error(`cleanup: ${(error as Error).message}`);
    }
  }
}

/** A thrown error in one line: viem errors carry the whole request (ABI, calldata); their short message is enough. */
export const shortError = (error: unknown): string =>
  `${(error as { shortMessage?: string }).shortMessage ?? (error as Error).message}`.slice(0, 2_000);

/** A positive integer setting from the environment (BENCH_…), or `fallback`. */
export function setting(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** The machine a result was measured on. It is shared: the 1-minute load average when the bench started and ended. */
export const machine = (loadAtStart: number | undefined) => ({
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model.trim(),
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  os: `${process.platform} ${release()}`,
  loadAverage: { start: loadAtStart, end: loadavg()[0] },
});

/** An ephemeral local chain (stopped by `cleanup`) with the suite deployed, its record in `workDir`. */
export async function benchChain(workDir: string, cleanup: CleanupStep[]) {
  const chain = await startDevChain({ port: 0 });
  cleanup.push(() => chain.close());
  const deployment = await ensureSuite(chain.url, join(workDir, "deployment.json"), () => {});
  return { chain, deployment };
}
