-- Provider nodes (src/providers/): the OpenAI-compatible servers providers register, their health
-- checks and the work they served, which the rewards epoch (src/rewards/epoch.ts) counts.

-- A node a provider registered. base_url is normalised (no trailing slash); one per provider and URL.
create table provider_nodes (
  id                  uuid primary key default gen_random_uuid(),
  provider_account_id uuid not null references accounts(id),
  base_url            text not null,
  models              text[] not null check (cardinality(models) between 1 and 64),
  tier                text not null check (tier in ('tide-pool', 'blue-surge', 'open-ocean', 'mariana-depth')),
  max_concurrency     integer not null check (max_concurrency between 1 and 10000),
  paused              boolean not null default false,
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  unique (provider_account_id, base_url)
);

-- One health check (GET {base_url}/models). Kept for a bounded time (PROVIDER_HEALTH_RETENTION_DAYS,
-- pruned by the checker); no foreign key to the node, so a removed node's checks still count for
-- the day's uptime and p50 until they are pruned.
create table provider_node_checks (
  id                  bigserial primary key,
  node_id             uuid not null,
  provider_account_id uuid not null references accounts(id),
  at                  timestamptz not null default now(),
  up                  boolean not null,
  latency_ms          integer check (latency_ms >= 0),
  error               text
);
create index provider_node_checks_node on provider_node_checks(node_id, at desc);
create index provider_node_checks_at on provider_node_checks(at);

-- Work served through the gateway per provider, node, tier and period. A period starts at a whole
-- UTC hour, or later when a rewards run ended its window after it (reward_cutoffs), so
-- every rewards window boundary is a period boundary and no request is counted in two windows.
create table provider_served (
  provider_account_id uuid not null references accounts(id),
  node_id             uuid not null,
  tier                text not null,
  period_start        timestamptz not null,
  requests            bigint not null check (requests >= 0),
  tokens              bigint not null check (tokens >= 0),
  latency_sum_ms      bigint not null check (latency_sum_ms >= 0),
  primary key (provider_account_id, node_id, tier, period_start)
);
create index provider_served_period on provider_served(period_start);

-- The ends of the rewards windows computed so far (a "run now" ends one inside an hour): served
-- work written afterwards goes to a period starting at the latest one (src/providers/served.ts).
create table reward_cutoffs (
  at timestamptz primary key
);
