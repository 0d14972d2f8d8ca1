// The jobs' schedules in EventBridge's syntax, from the same settings the in-process scheduler
// reads (SETTLE_CRON, REWARDS_CRON, RECONCILE_EVERY_MS, MONITOR_EVERY_MS), so a deployment on AWS
// runs the jobs when the README says. sst.config.ts declares one cron per handler from this.
import { ConfigError, loadConfig } from "../config/config.ts";
import { JOBS } from "../jobs/definitions.ts";
import type { Schedule } from "../jobs/job.ts";
import type { HandlerName } from "./handlers.ts";

export type AwsSchedule = `cron(${string})` | `rate(${string})`;

/** How often the index function catches the indexer up (the API's own follower runs beside it). */
export const INDEX_EVERY_MS = 60_000;

const JOB_SETTINGS = ["SETTLE_CRON", "REWARDS_CRON", "RECONCILE_EVERY_MS", "MONITOR_EVERY_MS"] as const;

/**
 * A five-field UTC cron pattern (minute hour day-of-month month day-of-week) as EventBridge's
 * six-field `cron(…)`: one of the two day fields must be `?`, and days of the week count from
 * 1 (Sunday) instead of 0. @throws ConfigError for what EventBridge cannot express.
 */
export function awsCron(pattern: string, setting = "cron pattern"): AwsSchedule {
  const fields = pattern.trim().split(/\s+/);
  if (fields.length !== 5) throw new ConfigError(`${setting} must have five fields (minute hour day month weekday) for EventBridge, got "${pattern}"`);
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  if (dom !== "*" && dow !== "*") throw new ConfigError(`${setting}: EventBridge cannot combine a day of the month and a day of the week ("${pattern}")`);
  const weekday = dow === "*" ? "?" : dow.replace(/\d+/g, (d) => {
    const n = Number(d);
    if (n > 7) throw new ConfigError(`${setting}: day of the week ${d} is out of range ("${pattern}")`);
    return String((n % 7) + 1);
  });
  return `cron(${minute} ${hour} ${dow === "*" ? dom : "?"} ${month} ${weekday} *)`;
}

/** An interval in ms as `rate(…)`: EventBridge counts whole minutes. @throws ConfigError otherwise. */
export function awsRate(everyMs: number, setting = "interval"): AwsSchedule {
  if (everyMs % 60_000 !== 0) throw new ConfigError(`${setting} must be a whole number of minutes on EventBridge, got ${everyMs} ms`);
  const minutes = everyMs / 60_000;
  return `rate(${minutes} ${minutes === 1 ? "minute" : "minutes"})`;
}

const toAws = (schedule: Schedule, setting: string): AwsSchedule => ("every" in schedule ? awsRate(schedule.every, setting) : awsCron(schedule.pattern, setting));

const SETTING_OF: Readonly<Record<string, string>> = { settle: "SETTLE_CRON", rewards: "REWARDS_CRON", reconcile: "RECONCILE_EVERY_MS", monitor: "MONITOR_EVERY_MS" };

/** Every handler's schedule, from the job settings in `env` (the rest of the environment is not read). */
export function lambdaSchedules(env: Readonly<Record<string, string | undefined>> = process.env): Record<HandlerName, AwsSchedule> {
  const config = loadConfig(Object.fromEntries(JOB_SETTINGS.map((name) => [name, env[name]])));
  const jobs = Object.fromEntries(Object.values(JOBS).map((job) => [job.name, toAws(job.schedule(config), SETTING_OF[job.name]!)]));
  return { ...(jobs as Record<keyof typeof JOBS, AwsSchedule>), index: awsRate(INDEX_EVERY_MS) };
}
