-- Protocol withdrawals proposed to the Safe (src/admin/treasury.ts): the exact Safe transaction
-- (RewardDistributor.withdrawProtocol at one Safe nonce, identified by its EIP-712 safeTxHash)
-- and the owners' signatures collected for it, until one submission executes it on chain.
create table protocol_withdrawals (
  id            bigserial primary key,
  chain_id      integer not null,
  safe          text not null check (safe ~ '^0x[0-9a-f]{40}$'),
  target        text not null check (target ~ '^0x[0-9a-f]{40}$'),
  recipient     text not null check (recipient ~ '^0x[0-9a-f]{40}$'),
  amount_wei    numeric(78, 0) not null check (amount_wei > 0),
  data          text not null,
  safe_nonce    numeric(78, 0) not null,
  safe_tx_hash  text not null unique,
  status        text not null default 'proposed' check (status in ('proposed', 'executed')),
  tx_hash       text,
  proposed_by   uuid references accounts(id),
  created_at    timestamptz not null default now(),
  executed_at   timestamptz
);

-- One owner's EIP-712 signature of a withdrawal's SafeTx; an owner confirms once.
create table protocol_withdrawal_confirmations (
  withdrawal_id bigint not null references protocol_withdrawals(id),
  owner         text not null check (owner ~ '^0x[0-9a-f]{40}$'),
  signature     text not null,
  confirmed_at  timestamptz not null default now(),
  primary key (withdrawal_id, owner)
);

-- The updateShares transactions of a points upload, one per mined batch, so the AirdropConsole
-- can follow an upload while it runs (src/admin/rewards.ts).
create table reward_point_batches (
  id         bigserial primary key,
  epoch      integer not null references reward_epochs(epoch),
  pool       text not null check (pool in ('providers', 'users')),
  accounts   integer not null,
  tx_hash    text not null,
  mined_at   timestamptz not null default now()
);
create index reward_point_batches_epoch on reward_point_batches(epoch, id);
