// `npm run cxpt -- <command>`: runs a job by hand against the configured stack (the same
// environment as the API: DATABASE_URL, REDIS_URL, CHAIN_STAGE, RPC_URL, keys…), with a progress
// bar on a terminal and a summary at the end. Exit code 0: done (or skipped); 1: failed; 2: usage.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { pino } from "pino";
import { createApp, type App } from "../src/app/create.ts";
import { ConfigError, loadConfig, type AppConfig } from "../src/config/config.ts";
import { AppError } from "../src/errors.ts";
import { catchUpIndexer } from "../src/jobs/catch-up.ts";
import { jobList } from "../src/jobs/definitions.ts";
import type { Progress } from "../src/jobs/job.ts";
import { runJob } from "../src/jobs/run.ts";
import { stackStatus, type StackStatus } from "../src/jobs/status.ts";
import { createLogger } from "../src/monitoring/log.ts";

const USAGE = `usage: npm run cxpt -- <command> [--json]

commands:
${jobList().map((job) => `  ${job.name.padEnd(10)}  ${job.description}`).join("\n")}
  index       catch the chain indexer up to the chain head
  status      stage, indexer lag, each job's last run, open alerts, unfinished settlement batches

options:
  --json      print the result as JSON
  -h, --help  this text

The stack is the one the environment configures (as for the API); see README "Command line".`;

const COMMANDS = new Set<string>([...jobList().map((j) => j.name), "index", "status"]);

class UsageError extends Error {}

function parse(argv: readonly string[]): { command: string; json: boolean } | "help" {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.values.help) return "help";
  const [command, ...extra] = parsed.positionals;
  if (command === undefined) throw new UsageError("no command given");
  if (!COMMANDS.has(command)) throw new UsageError(`unknown command "${command}"`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  return { command, json: parsed.values.json ?? false };
}

/** A bar on a terminal, a line per step otherwise (logs, CI). */
function progressReporter(): { progress: Progress; stop(): void } {
  if (!process.stdout.isTTY) {
    let last = "";
    return {
      progress: (done, total, label) => {
        const line = `${label} (${done}/${total})`;
        if (line !== last) console.log(line);
        last = line;
      },
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar({ format: " {bar} {percentage}% | {value}/{total} | {label}", hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    progress: (done, total, label) => {
      if (!started) bar.start(total, done, { label });
      else bar.update(done, { label });
      if (started) bar.setTotal(total);
      started = true;
    },
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** The process holding an embedded data folder (npm start), if it still runs. */
function dataDirOwner(config: AppConfig): number | undefined {
  if ("url" in config.database || config.database.dataDir === undefined) return undefined;
  let owner: number;
  try {
    owner = Number(readFileSync(join(config.dataDir, "stack.pid"), "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(owner) || owner <= 0 || owner === process.pid) return undefined;
  try {
    process.kill(owner, 0);
    return owner;
  } catch (error) {
    return (error as { code?: unknown }).code === "EPERM" ? owner : undefined;
  }
}

async function openStack(config: AppConfig): Promise<App> {
  const owner = dataDirOwner(config);
  if (owner !== undefined) {
    throw new AppError(
      "DATA_DIR_IN_USE",
      `the embedded database (${join(config.dataDir, "pg")}) is in use by npm start (process ${owner}); stop it, or point DATABASE_URL at a PostgreSQL server both use`,
      500,
    );
  }
  // Logs go to stderr so standard output is the command's own; the command indexes by hand.
  return createApp(config, { log: createLogger({ level: config.monitoring.logLevel, destination: pino.destination(2) }), follow: false });
}

function printStatus(status: StackStatus): void {
  console.log(`stage         ${status.stage}, phase ${status.phase}`);
  if (status.chain === undefined) console.log("chain         off");
  else {
    const { chainId, head, indexedTo, lagBlocks } = status.chain;
    console.log(`chain         ${chainId}: head ${head}, indexed to ${indexedTo ?? "(not started)"}${lagBlocks === null ? "" : `, ${lagBlocks} blocks behind`}`);
  }
  for (const { job, lastRun } of status.jobs) {
    const last = lastRun === null ? "never ran" : `${lastRun.outcome ?? "running"} (${lastRun.trigger}) at ${lastRun.startedAt}${lastRun.error ? `: ${lastRun.error}` : ""}`;
    console.log(`job ${job.padEnd(10)}${last}`);
  }
  console.log(`open alerts   ${status.openAlerts}`);
  console.log(`unfinished settlement batches   ${status.unfinishedBatches.length === 0 ? "none" : status.unfinishedBatches.join(", ")}`);
}

const print = (value: unknown, json: boolean) =>
  console.log(json ? JSON.stringify(value) : JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));

async function main(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`cxpt: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (args === "help") {
    console.log(USAGE);
    return 0;
  }
  const { command, json } = args;
  const app = await openStack(loadConfig({ LOG_LEVEL: "warn", ...process.env }));
  const reporter = progressReporter();
  try {
    if (command === "status") {
      const status = await stackStatus(app);
      if (json) print(status, true);
      else printStatus(status);
      return 0;
    }
    if (command === "index") {
      const summary = await catchUpIndexer(app, reporter.progress);
      reporter.stop();
      print(summary, json);
      return 0;
    }
    const run = (await runJob(app, command, { trigger: "manual", progress: reporter.progress }))!;
    reporter.stop();
    if (json) print(run, true);
    else {
      console.log(`${command}: ${run.outcome} (run ${run.id})${run.error ? `: ${run.error}` : ""}`);
      if (run.summary !== null) print(run.summary, false);
    }
    return run.outcome === "failed" ? 1 : 0;
  } finally {
    reporter.stop();
    await app.close();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const message = error instanceof ConfigError || error instanceof AppError ? error.message : (error as Error).stack ?? String(error);
  console.error(`cxpt: ${message}`);
  process.exitCode = 1;
}
