// `npm run cxpt -- <command>`: runs a job by hand against the configured stack (the same
// environment as the API: DATABASE_URL, REDIS_URL, CHAIN_STAGE, RPC_URL, keys…), with a progress
// bar on a terminal and a summary at the end. Exit code 0: done (or skipped); 1: failed; 2: usage.
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { pino } from "pino";
import { ConfigError, loadConfig } from "../src/config/config.ts";
import { openOperatorStack, type RunningStack } from "../src/devstack/operator.ts";
import { startupReason } from "../src/devstack/stack.ts";
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

The stack is the one npm start runs: the same environment and defaults (the chain on at phase 3,
the data folder's database and local chain, the development keys on 31337). While npm start runs,
status reads it through its API; see README "Command line".`;

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

/** Health of the running stack, as GET /api/health answers it. */
interface RunningHealth {
  readonly status: string;
  readonly stage: string;
  readonly phase: number;
  readonly chain: { readonly chainId: number; readonly blockNumber: string | null; readonly status: string } | null;
  readonly database: string;
  readonly meter: string;
}

/** `status` while npm start runs: what its API says (the data folder is its own). */
async function runningStatus(running: RunningStack, json: boolean): Promise<void> {
  const apiUrl = running.record?.pid === running.pid ? running.record.apiUrl : undefined;
  if (apiUrl === undefined) throw new AppError("STACK_UNREADABLE", `npm start (process ${running.pid}) holds ${running.dataDir} but left no API address: restart it, or stop it and run this again`, 500);
  const response = await fetch(`${apiUrl}/api/health`, { signal: AbortSignal.timeout(5_000) }).catch((error: unknown) => {
    throw new AppError("STACK_UNREACHABLE", `npm start (process ${running.pid}) does not answer at ${apiUrl} (${(error as Error).message}): is it still starting?`, 500);
  });
  const health = (await response.json()) as RunningHealth;
  if (json) return print({ running: { pid: running.pid, apiUrl }, ...health }, true);
  console.log(`stack         npm start (process ${running.pid}) at ${apiUrl}: ${health.status}`);
  console.log(`stage         ${health.stage}, phase ${health.phase}`);
  console.log(health.chain === null ? "chain         off" : `chain         ${health.chain.chainId}: head ${health.chain.blockNumber ?? "?"} (${health.chain.status})`);
  console.log(`database      ${health.database}`);
  console.log(`metering      ${health.meter}`);
  console.log(`jobs, alerts  ${apiUrl}/admin (the data folder is npm start's while it runs)`);
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
  const env = { LOG_LEVEL: "warn", ...process.env };
  // Logs go to stderr so standard output is the command's own; the command indexes by hand.
  // LOG_LEVEL checked as the API checks it (the chain settings are openOperatorStack's to resolve).
  const level = loadConfig({ ...env, CHAIN_STAGE: "off" }).monitoring.logLevel;
  const stack = await openOperatorStack(env, { log: createLogger({ level, destination: pino.destination(2) }) });
  if (stack.kind === "running") {
    if (command === "status") {
      await runningStatus(stack, json);
      return 0;
    }
    throw new AppError(
      "DATA_DIR_IN_USE",
      `npm start (process ${stack.pid}) holds ${stack.dataDir}: run ${command} from the admin dashboard (POST /api/v1/admin/jobs/${command}/run), or stop npm start first`,
      500,
    );
  }
  const { app } = stack;
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
    await stack.close();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // One line saying what to do; the stack trace only when asked for (CXPT_DEBUG=1).
  const known = error instanceof ConfigError || error instanceof AppError;
  const message = known ? error.message : `${startupReason(error)} (CXPT_DEBUG=1 prints the stack trace)`;
  console.error(`cxpt: ${message}`);
  if (!known && process.env.CXPT_DEBUG === "1") console.error((error as Error).stack);
  process.exitCode = 1;
}
