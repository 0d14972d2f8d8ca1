// The admin's view of the scheduled jobs: each job's schedule and latest runs, one job's runs page
// by page, and running a job now. Admins only (401/403 before anything else).
import { Type } from "typebox";
import type { AppContext } from "../../app/context.ts";
import { jobList, jobNamed } from "../../jobs/definitions.ts";
import { JOB_NAMES, type JobDefinition } from "../../jobs/job.ts";
import { isRunning, runJob } from "../../jobs/run.ts";
import { listRuns, type JobRun } from "../../jobs/runs.ts";
import { describeSchedule, nextRun } from "../../jobs/schedule.ts";
import { badRequest, notFound } from "../../errors.ts";
import { accountOf, adminHook } from "../auth.ts";
import { audited } from "../../audit/log.ts";
import { errors, Nullable, pageQuery, Timestamp } from "../schemas.ts";
import type { Api } from "../server.ts";

const MAX_RUNS_PAGE = 100;
const DEFAULT_RUNS_PAGE = 10;

const JobNameSchema = Type.Enum(JOB_NAMES);
const RunView = Type.Object({
  id: Type.String(),
  job: JobNameSchema,
  trigger: Type.Union([Type.Literal("schedule"), Type.Literal("manual")]),
  scheduledFor: Nullable(Timestamp),
  startedAt: Timestamp,
  finishedAt: Nullable(Timestamp),
  outcome: Nullable(Type.Union([Type.Literal("ok"), Type.Literal("failed"), Type.Literal("skipped")])),
  summary: Nullable(Type.Record(Type.String(), Type.Unknown())),
  error: Nullable(Type.String()),
});
const JobView = Type.Object({
  name: JobNameSchema,
  description: Type.String(),
  schedule: Type.String({ description: "cron pattern (UTC) or interval" }),
  nextRunAt: Nullable(Timestamp),
  running: Type.Boolean({ description: "a run is in progress in this API instance" }),
  runs: Type.Array(RunView, { description: "latest runs, newest first" }),
  nextCursor: Nullable(Type.String({ description: "cursor of the job's older runs (GET /api/v1/admin/jobs/:name/runs)" })),
});
const Name = Type.Object({ name: Type.String({ maxLength: 64 }) });

const runView = (run: JobRun) => ({ ...run, summary: run.summary as Record<string, unknown> | null });

function pageLimit(limit: string | undefined): number {
  const n = limit === undefined ? DEFAULT_RUNS_PAGE : Number(limit);
  if (n < 1 || n > MAX_RUNS_PAGE) throw badRequest("INVALID_LIMIT", `limit must be 1–${MAX_RUNS_PAGE}`);
  return n;
}

function cursorOf(cursor: string | undefined): string | undefined {
  if (cursor !== undefined && !/^[0-9]{1,19}$/.test(cursor)) throw badRequest("INVALID_CURSOR", "cursor must be a nextCursor from a previous page");
  return cursor;
}

/** One page of `job`'s runs and the cursor of the next (older) page. */
async function runsPage(ctx: AppContext, job: JobDefinition, limit: number, before?: string) {
  const runs = await listRuns(ctx.db, job.name, { limit: limit + 1, ...(before === undefined ? {} : { before }) });
  const page = runs.slice(0, limit);
  return { runs: page.map(runView), nextCursor: runs.length > limit ? page.at(-1)!.id : null };
}

const jobOf = (name: string): JobDefinition => {
  const job = jobNamed(name);
  if (job === undefined) throw notFound("UNKNOWN_JOB", `there is no job "${name}"; jobs: ${JOB_NAMES.join(", ")}`);
  return job;
};

export function jobRoutes(app: Api, ctx: AppContext): void {
  const security = [{ session: [] }];
  const tags = ["admin"];
  app.addHook("onRequest", adminHook(ctx.db));

  app.get(
    "/api/v1/admin/jobs",
    {
      schema: {
        tags,
        security,
        summary: "The scheduled jobs: schedule, next run and latest runs",
        querystring: Type.Object({ limit: pageQuery("runs", MAX_RUNS_PAGE, DEFAULT_RUNS_PAGE).limit }, { additionalProperties: false }),
        response: {
          200: Type.Object({ scheduler: Type.Union([Type.Literal("off"), Type.Literal("embedded"), Type.Literal("bullmq")]), jobs: Type.Array(JobView) }),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const limit = pageLimit(request.query.limit);
      const { enabled } = ctx.config.jobs;
      const jobs = await Promise.all(
        jobList().map(async (job) => {
          const schedule = job.schedule(ctx.config);
          return {
            name: job.name,
            description: job.description,
            schedule: describeSchedule(schedule),
            nextRunAt: enabled ? nextRun(schedule, new Date()).toISOString() : null,
            running: isRunning(ctx, job.name),
            ...(await runsPage(ctx, job, limit)),
          };
        }),
      );
      return { scheduler: !enabled ? "off" : ctx.config.redisUrl === undefined ? "embedded" : "bullmq", jobs } as const;
    },
  );

  app.get(
    "/api/v1/admin/jobs/:name/runs",
    {
      schema: {
        tags,
        security,
        summary: "One job's runs, newest first",
        params: Name,
        querystring: Type.Object(pageQuery("runs", MAX_RUNS_PAGE, DEFAULT_RUNS_PAGE), { additionalProperties: false }),
        response: { 200: Type.Object({ runs: Type.Array(RunView), nextCursor: Nullable(Type.String()) }), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => runsPage(ctx, jobOf(request.params.name), pageLimit(request.query.limit), cursorOf(request.query.cursor)),
  );

  app.post(
    "/api/v1/admin/jobs/:name/run",
    {
      schema: {
        tags,
        security,
        summary: "Run a job now",
        description: "Answers when the run has finished, with its record (outcome ok, skipped or failed). 409 `JOB_RUNNING` while the job runs.",
        params: Name,
        response: { 200: RunView, ...errors(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const run = await runJob(ctx, jobOf(request.params.name).name, { trigger: "manual" });
      // A manual run is never a duplicate delivery, so it always has a record.
      return runView(run!);
    },
  );

  app.post(
    "/api/v1/admin/rewards/run-now",
    {
      schema: {
        tags,
        security,
        summary: "Run the rewards job now, closing its window at this moment",
        description:
          "Like running the rewards job, but the epoch's window ends now instead of at today 00:00 UTC, so work served today earns points in the epoch it starts " +
          "(if the current epoch is still running, the points are uploaded and the epoch starts at the next run after it ends). " +
          "Work served afterwards counts in the next window. " +
          "Audited as run_rewards_now. 409 `JOB_RUNNING` while the rewards job runs.",
        response: { 200: RunView, ...errors(401, 403, 409) },
      },
    },
    async (request) => {
      const run = await audited(ctx.db, { actorId: accountOf(request).id, action: "run_rewards_now", params: {} }, async () => {
        const done = (await runJob(ctx, "rewards", { trigger: "manual", params: { closeNow: true } }))!;
        return { result: done, outcome: { status: "executed", run: done.id, jobOutcome: done.outcome, summary: done.summary, error: done.error } };
      });
      return runView(run);
    },
  );
}
