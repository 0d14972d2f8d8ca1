// Every scheduled job, by name. The scheduler, the admin API and the cxpt command all read this table.
import type { JobDefinition, JobName } from "./job.ts";
import { monitorJob } from "./monitor.ts";
import { reconcileJob } from "./reconcile.ts";
import { rewardsJob } from "./rewards.ts";
import { settleJob } from "./settle.ts";

export const JOBS: Readonly<Record<JobName, JobDefinition>> = {
  settle: settleJob,
  rewards: rewardsJob,
  reconcile: reconcileJob,
  monitor: monitorJob,
};

/** The job called `name`, if there is one. */
export const jobNamed = (name: string): JobDefinition | undefined => (Object.hasOwn(JOBS, name) ? JOBS[name as JobName] : undefined);

export const jobList = (): JobDefinition[] => Object.values(JOBS);
