// When a schedule fires next. Cron patterns are read by cron-parser (the parser BullMQ itself
// uses, so both scheduler modes agree) in UTC; intervals fire on multiples of `every` since the
// epoch, so every instance computes the same slots.
import { CronExpressionParser } from "cron-parser";
import { badRequest } from "../errors.ts";
import type { Schedule } from "./job.ts";

/** The first time `schedule` fires strictly after `after`. @throws AppError 400 `INVALID_SCHEDULE` for a bad pattern. */
export function nextRun(schedule: Schedule, after: Date): Date {
  if ("every" in schedule) return new Date((Math.floor(after.getTime() / schedule.every) + 1) * schedule.every);
  try {
    return CronExpressionParser.parse(schedule.pattern, { currentDate: after, tz: "UTC" }).next().toDate();
  } catch (error) {
    throw badRequest("INVALID_SCHEDULE", `bad cron pattern "${schedule.pattern}": ${(error as Error).message}`);
  }
}

/** `cron 0 2 * * *` or `every 300000 ms`, for listings. */
export const describeSchedule = (schedule: Schedule): string =>
  "every" in schedule ? `every ${schedule.every} ms` : `cron ${schedule.pattern} (UTC)`;
