// What a job is: a schedule and a run. A run returns a JSON summary, or says why it was skipped
// (its feature is off at the current stage), which is not a failure. Throwing is a failure.
import type { AppContext } from "../app/context.ts";
import type { AppConfig } from "../config/config.ts";
import type { Json } from "../indexer/events.ts";

export type { Json };

export const JOB_NAMES = ["settle", "rewards", "reconcile", "monitor"] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** A cron pattern (UTC; 5 fields, or 6 with seconds first) or a fixed interval in ms. */
export type Schedule = { readonly pattern: string } | { readonly every: number };

/** Reports how far a run is: the cxpt command draws it as a progress bar. */
export type Progress = (done: number, total: number, label: string) => void;

export type JobSummary = { readonly [key: string]: Json };

export type JobResult =
  | { readonly outcome: "ok"; readonly summary: JobSummary }
  | { readonly outcome: "skipped"; readonly summary: JobSummary & { readonly reason: string } };

/** What a manual run may ask of a job beyond its schedule. */
export interface JobParams {
  /** rewards: close the window at the moment of the run ("run now") instead of at today 00:00 UTC. */
  readonly closeNow?: boolean;
}

export interface JobDefinition {
  readonly name: JobName;
  readonly description: string;
  readonly schedule: (config: AppConfig) => Schedule;
  readonly run: (ctx: AppContext, progress: Progress, params: JobParams) => Promise<JobResult>;
}

/** A run that did nothing because `reason` (a feature off at this stage, nothing due). */
export const skipped = (reason: string): JobResult => ({ outcome: "skipped", summary: { reason } });

export const ok = (summary: JobSummary): JobResult => ({ outcome: "ok", summary });
