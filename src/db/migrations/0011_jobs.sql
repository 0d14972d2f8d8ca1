-- One row per job run (src/jobs): scheduled by the scheduler or started by hand (admin API, the
-- cxpt command). A scheduled run is unique per (job, scheduled_for), so a run delivered twice (two
-- API instances, a queue redelivery) is recorded, and done, once.
create table job_runs (
  id            bigserial primary key,
  job           text not null,
  trigger       text not null check (trigger in ('schedule', 'manual')),
  scheduled_for timestamptz,
  started_at    timestamptz not null default now(),
  finished_at   timestamptz,
  outcome       text check (outcome in ('ok', 'failed', 'skipped')),
  summary       jsonb,
  error         text,
  check ((trigger = 'schedule') = (scheduled_for is not null)),
  check ((finished_at is null) = (outcome is null))
);
create unique index job_runs_scheduled on job_runs(job, scheduled_for) where trigger = 'schedule';
create index job_runs_recent on job_runs(job, id desc);
