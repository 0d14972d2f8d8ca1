-- Alerts an operator must see (src/monitoring/alerts.ts): raised by jobs and checks, listed in the
-- admin API. One open alert per key: raising it again bumps its count and last_at instead of
-- adding a row, so a failing job that retries every minute is one alert, not a thousand.
create table alerts (
  id          bigserial primary key,
  key         text not null,
  kind        text not null,
  severity    text not null check (severity in ('warning', 'critical')),
  message     text not null,
  details     jsonb not null default '{}'::jsonb,
  count       integer not null default 1,
  first_at    timestamptz not null default now(),
  last_at     timestamptz not null default now(),
  resolved_at timestamptz
);
create unique index alerts_open_key on alerts(key) where resolved_at is null;
create index alerts_recent on alerts(last_at desc);
