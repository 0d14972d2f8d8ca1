-- Provider statistics the daily rewards epoch (src/rewards/epoch.ts) turns into points. The
-- compute path is to record them; the demo compute endpoint does not record providers yet, so
-- these tables stay empty until it does (or an operator imports them).
-- Requests a provider served, per service tier and UTC hour (hour = the hour's start).
create table provider_requests (
  provider_account_id uuid not null references accounts(id),
  tier                text not null,
  hour                timestamptz not null check (hour = date_trunc('hour', hour)),
  requests            bigint not null check (requests >= 0),
  primary key (provider_account_id, tier, hour)
);
create index provider_requests_hour on provider_requests(hour);

-- A provider's health per UTC day: uptime in basis points of 100 % (9995 = 99.95 %) and p50 latency.
create table provider_health (
  provider_account_id uuid not null references accounts(id),
  day                 date not null,
  uptime_bps          integer not null check (uptime_bps between 0 and 10000),
  p50_ms              integer not null check (p50_ms >= 0),
  primary key (provider_account_id, day)
);
