// The one scheduler. Without Redis, in-process timers fire each job on its schedule, one run at a
// time per job. With Redis, BullMQ runs them: every API instance upserts the same job schedulers
// (idempotent) and runs a worker, and BullMQ hands each scheduled job to exactly one worker; the
// job_runs row is unique per slot on top of that, so even a redelivery runs once.
import { Queue, Worker, type Job } from "bullmq";
import type { AppContext } from "../app/context.ts";
import { jobList } from "./definitions.ts";
import type { JobDefinition } from "./job.ts";
import { runJob } from "./run.ts";
import { nextRun } from "./schedule.ts";

export interface Scheduler {
  /** `off`: JOBS=off, nothing scheduled; `embedded`: in-process timers; `bullmq`: the Redis queue. */
  readonly mode: "off" | "embedded" | "bullmq";
  /** Stops scheduling; resolves when the runs in progress here have finished. */
  stop(): Promise<void>;
}

const QUEUE = "jobs";
/** Longest setTimeout delay Node accepts; later slots are waited for in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Starts the scheduler the configuration asks for (see the file comment). */
export async function startScheduler(ctx: AppContext): Promise<Scheduler> {
  if (!ctx.config.jobs.enabled) return { mode: "off", stop: async () => {} };
  const redisUrl = ctx.config.redisUrl;
  return redisUrl === undefined ? startEmbedded(ctx) : startBullmq(ctx, redisUrl);
}

function startEmbedded(ctx: AppContext): Scheduler {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const runs = new Set<Promise<unknown>>();
  const wait = (until: Date, then: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (Date.now() < until.getTime()) wait(until, then);
      else then();
    }, Math.min(MAX_DELAY_MS, Math.max(0, until.getTime() - Date.now())));
    timers.add(timer);
  };
  // The next slot is taken after the run ends: a run longer than the interval skips the slots it covered.
  const arm = (job: JobDefinition) => {
    if (stopped) return;
    const slot = nextRun(job.schedule(ctx.config), new Date());
    wait(slot, () => {
      const run = runJob(ctx, job.name, { trigger: "schedule", scheduledFor: slot })
        .catch((error: unknown) => ctx.monitor.log.error({ component: "jobs", job: job.name, err: error }, "scheduled run could not be recorded"))
        .finally(() => {
          runs.delete(run);
          arm(job);
        });
      runs.add(run);
    });
  };
  for (const job of jobList()) arm(job);
  return {
    mode: "embedded",
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all(runs);
    },
  };
}

/** The slot a job from a BullMQ job scheduler is for: its id is `repeat:<scheduler>:<millis>`. */
function slotOf(job: Job): Date {
  const millis = job.opts.prevMillis ?? Number(job.id?.split(":").at(-1));
  return new Date(Number.isFinite(millis) ? millis : job.timestamp);
}

async function startBullmq(ctx: AppContext, redisUrl: string): Promise<Scheduler> {
  // Workers block on Redis: BullMQ requires maxRetriesPerRequest null on their connections.
  const connection = { url: redisUrl, maxRetriesPerRequest: null };
  const prefix = `${ctx.config.redisPrefix.replace(/:+$/, "")}:bull`;
  const queue = new Queue(QUEUE, { connection, prefix });
  const log = ctx.monitor.log.child({ component: "jobs" });
  queue.on("error", (error) => log.error({ err: error }, "job queue error"));
  try {
    const jobs = jobList();
    for (const job of jobs) {
      // A job's failure is recorded by runJob; BullMQ never retries a run (that would be a second run of the slot).
      await queue.upsertJobScheduler(job.name, job.schedule(ctx.config), { name: job.name, opts: { attempts: 1, removeOnComplete: 100, removeOnFail: 100 } });
    }
    for (const scheduler of await queue.getJobSchedulers()) {
      if (scheduler.key !== undefined && !jobs.some((j) => j.name === scheduler.key)) await queue.removeJobScheduler(scheduler.key);
    }
  } catch (error) {
    await queue.close();
    throw error;
  }
  const worker = new Worker(QUEUE, async (job: Job) => void (await runJob(ctx, job.name, { trigger: "schedule", scheduledFor: slotOf(job) })), {
    connection,
    prefix,
    concurrency: jobList().length,
  });
  worker.on("error", (error) => log.error({ err: error }, "job worker error"));
  worker.on("failed", (job, error) => log.error({ job: job?.name, err: error }, "scheduled run could not be recorded"));
  return {
    mode: "bullmq",
    async stop() {
      await worker.close();
      await queue.close();
    },
  };
}
