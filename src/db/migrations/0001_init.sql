-- Accounts, auth, the token ledger, metered usage, rewards and the audit log.
-- Every amount is integer wei (or atto-USD) in NUMERIC(78,0): exact, and as wide as a uint256.

create table accounts (
  id                 uuid primary key default gen_random_uuid(),
  kind               text not null check (kind in ('user', 'provider')),
  role               text not null default 'member' check (role in ('member', 'admin')),
  display_name       text,
  email              text unique,
  -- The linked wallet, lower-case hex; one account per wallet.
  wallet             text unique check (wallet ~ '^0x[0-9a-f]{40}$'),
  -- Off-chain CXPT credits (from verified Vault deposits and grants), spent before PAYG.
  credits_wei        numeric(78, 0) not null default 0 check (credits_wei >= 0),
  -- The legacy off-chain credit system (USD-denominated, 1e-18 USD units), billed while CHAIN_STAGE=off.
  legacy_credits_ausd numeric(78, 0) not null default 0 check (legacy_credits_ausd >= 0),
  -- Subscription mirror of the on-chain pass (SubscriptionManager is canonical).
  subscription_type  text,
  subscription_plan_id integer,
  subscription_pass_id numeric(78, 0),
  subscription_end   timestamptz,
  -- Bucket tokens left (including rollover and overage) as of the last chain refresh, minus metered use.
  bucket_remaining   numeric(78, 0) not null default 0 check (bucket_remaining >= 0),
  -- Providers: every reward claimed to the wallet, all time.
  total_earnings_wei numeric(78, 0) not null default 0 check (total_earnings_wei >= 0),
  created_at         timestamptz not null default now()
);

create table providers (
  account_id   uuid primary key references accounts(id) on delete cascade,
  tier         text not null default 'tide-pool',
  vram_gb      integer,
  created_at   timestamptz not null default now()
);

create table sessions (
  token_hash   text primary key,
  account_id   uuid not null references accounts(id) on delete cascade,
  expires_at   timestamptz not null,
  created_at   timestamptz not null default now()
);

-- SIWE nonces are single use: consumed atomically when a signature is verified.
create table siwe_nonces (
  nonce        text primary key,
  expires_at   timestamptz not null,
  used_at      timestamptz,
  created_at   timestamptz not null default now()
);

create table api_keys (
  id           uuid primary key default gen_random_uuid(),
  account_id   uuid not null references accounts(id) on delete cascade,
  name         text not null default 'default',
  -- The first characters, shown to the owner; the key itself is stored only as its SHA-256.
  prefix       text not null,
  key_hash     text not null unique,
  created_at   timestamptz not null default now(),
  revoked_at   timestamptz
);
create index api_keys_account on api_keys(account_id);

create table token_transactions (
  id           uuid primary key default gen_random_uuid(),
  account_id   uuid not null references accounts(id),
  type         text not null check (type in ('deposit', 'withdrawal', 'claim', 'usage_charge', 'subscription_payment', 'reward')),
  status       text not null check (status in ('pending', 'confirmed', 'failed')),
  amount_wei   numeric(78, 0) not null check (amount_wei >= 0),
  tx_hash      text unique check (tx_hash ~ '^0x[0-9a-f]{64}$'),
  block_number bigint,
  ref          text,
  details      jsonb not null default '{}',
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now()
);
create index token_transactions_account on token_transactions(account_id, created_at desc, id);

-- One row per metered request, keyed by its request id: a request is charged once.
create table usage_events (
  request_id    text primary key,
  account_id    uuid not null references accounts(id),
  endpoint      text not null,
  service       text not null,
  units_in      bigint not null check (units_in >= 0),
  units_out     bigint not null check (units_out >= 0),
  cost_ausd     numeric(78, 0) not null check (cost_ausd >= 0),
  cost_wei      numeric(78, 0) not null check (cost_wei >= 0),
  billed_in     text not null check (billed_in in ('cxpt', 'legacy')),
  -- How the charge was met: bucket tokens, then credits, then PAYG (settled on chain by UsageBilling).
  bucket_tokens numeric(78, 0) not null default 0,
  credits_wei   numeric(78, 0) not null default 0,
  legacy_ausd   numeric(78, 0) not null default 0,
  payg_wei      numeric(78, 0) not null default 0,
  recorded_at   timestamptz not null,
  drained_at    timestamptz not null default now(),
  settlement_batch bigint,
  settled_at    timestamptz
);
create index usage_events_account on usage_events(account_id, recorded_at);
create index usage_events_unsettled on usage_events(account_id) where payg_wei > 0 and settled_at is null;

create table reward_epochs (
  epoch        integer primary key,
  status       text not null default 'draft' check (status in ('draft', 'uploading', 'uploaded', 'started')),
  duration_s   bigint,
  started_at   timestamptz,
  created_at   timestamptz not null default now()
);

create table reward_points (
  epoch        integer not null references reward_epochs(epoch),
  pool         text not null check (pool in ('providers', 'users')),
  wallet       text not null check (wallet ~ '^0x[0-9a-f]{40}$'),
  points       numeric(78, 0) not null check (points >= 0),
  uploaded     boolean not null default false,
  primary key (epoch, pool, wallet)
);

create table audit_log (
  id           bigserial primary key,
  actor_id     uuid references accounts(id),
  action       text not null,
  params       jsonb not null default '{}',
  outcome      jsonb not null default '{}',
  created_at   timestamptz not null default now()
);

-- Runtime settings the admin changes (stage, phase, price source): one JSON value per key.
create table settings (
  key          text primary key,
  value        jsonb not null,
  updated_at   timestamptz not null default now()
);
