-- The testnet faucet (src/faucet) and the counters (src/counters). The faucet: when each wallet may ask again, shared by every API instance,
-- and every request with the transactions that paid it.
create table faucet_cooldowns (
  wallet  text primary key check (wallet ~ '^0x[0-9a-f]{40}$'),
  next_at timestamptz not null
);

create table faucet_drips (
  id            bigserial primary key,
  account_id    uuid not null references accounts(id),
  wallet        text not null check (wallet ~ '^0x[0-9a-f]{40}$'),
  chain_id      integer not null,
  amount_wei    numeric(78, 0) not null check (amount_wei >= 0),
  gas_wei       numeric(78, 0) not null default 0 check (gas_wei >= 0),
  -- pending: the slot is taken and the transfers are under way (a crash leaves it so: the hashes
  -- recorded before each broadcast say what may have landed); sent; failed (nothing was sent).
  status        text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  cxpt_tx_hash  text,
  gas_tx_hash   text,
  error         text,
  requested_at  timestamptz not null default now(),
  finished_at   timestamptz
);
create index faucet_drips_wallet on faucet_drips(wallet, id desc);

-- The counters of src/counters when COUNTER_STORE=postgres (the default): each request id counted
-- once per kind; bucket tokens per account and UTC day. Served requests add to provider_requests.
create table counter_requests (
  kind       text not null check (kind in ('served', 'bucket')),
  request_id text not null,
  primary key (kind, request_id)
);

create table bucket_counters (
  account_id uuid not null references accounts(id),
  day        date not null,
  tokens     numeric(78, 0) not null check (tokens >= 0),
  primary key (account_id, day)
);
