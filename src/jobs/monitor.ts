// The monitor job: signer balances, indexer lag and failed transactions checked on an interval,
// each raising or resolving its alerts (src/monitoring/checks.ts). A check that could not run
// fails the job, which raises the job_failed alert too.
import { toJson } from "../indexer/events.ts";
import { runChecks } from "../monitoring/checks.ts";
import { ok, type JobDefinition, type JobSummary } from "./job.ts";

export const monitorJob: JobDefinition = {
  name: "monitor",
  description: "Health checks: low signer balances, indexer lag, failed transactions",
  schedule: (config) => ({ every: config.jobs.monitorEveryMs }),
  async run(ctx, progress) {
    progress(0, 1, "checking");
    const report = await runChecks(ctx);
    progress(1, 1, "done");
    return ok(toJson(report) as JobSummary);
  },
};
