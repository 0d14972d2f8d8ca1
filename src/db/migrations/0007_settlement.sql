-- PAYG settlement: unsettled PAYG usage is closed into batches, one leaf per wallet, committed to
-- UsageBilling as a Merkle root and collected in chunks. A batch moves
-- open → built → committed → collecting → settled (or failed, when its id is taken on chain by
-- another root; its usage is then released for the next batch). Once built, a batch's root, total,
-- count and leaves never change: the chain holds them.
create table settlement_batches (
  id             bigserial primary key,
  state          text not null default 'open'
                 check (state in ('open', 'built', 'committed', 'collecting', 'settled', 'failed')),
  -- The batch id on UsageBilling (the row id, kept apart so a redeployment can renumber).
  chain_batch_id numeric(78, 0) unique,
  root           text check (root ~ '^0x[0-9a-f]{64}$'),
  total_wei      numeric(78, 0) not null default 0 check (total_wei >= 0),
  leaf_count     integer not null default 0 check (leaf_count >= 0),
  commit_tx      text,
  error          text,
  created_at     timestamptz not null default now(),
  built_at       timestamptz,
  committed_at   timestamptz,
  settled_at     timestamptz,
  updated_at     timestamptz not null default now()
);
create index settlement_batches_unfinished on settlement_batches(id) where state not in ('settled', 'failed');

create table settlement_leaves (
  batch_id    bigint not null references settlement_batches(id),
  idx         integer not null check (idx >= 0),
  account_id  uuid not null references accounts(id),
  wallet      text not null check (wallet ~ '^0x[0-9a-f]{40}$'),
  amount_wei  numeric(78, 0) not null check (amount_wei > 0),
  status      text not null default 'pending' check (status in ('pending', 'collected', 'shortfall')),
  -- The last collectChunk sent for the leaf (recorded before its receipt is awaited).
  tx_hash     text,
  attempts    integer not null default 0,
  updated_at  timestamptz not null default now(),
  primary key (batch_id, idx),
  unique (batch_id, account_id)
);
create index settlement_leaves_account on settlement_leaves(account_id);
create index usage_events_batch on usage_events(settlement_batch) where settlement_batch is not null;

-- The immutability of a built batch, enforced where every writer goes through.
create function settlement_batch_frozen() returns trigger language plpgsql as $$
begin
  if old.root is not null and (new.root is distinct from old.root or new.total_wei <> old.total_wei
      or new.leaf_count <> old.leaf_count or new.chain_batch_id is distinct from old.chain_batch_id) then
    raise exception 'settlement batch % is built: its root, total, count and id are final', old.id;
  end if;
  return new;
end $$;
create trigger settlement_batch_frozen before update on settlement_batches
  for each row execute function settlement_batch_frozen();

create function settlement_leaf_frozen() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    if (select state from settlement_batches where id = new.batch_id) <> 'open' then
      raise exception 'settlement batch % is built: no leaf can be added', new.batch_id;
    end if;
  elsif new.batch_id <> old.batch_id or new.idx <> old.idx or new.account_id <> old.account_id
      or new.wallet <> old.wallet or new.amount_wei <> old.amount_wei then
    raise exception 'settlement leaf %/% is final', old.batch_id, old.idx;
  end if;
  return new;
end $$;
create trigger settlement_leaf_frozen before insert or update on settlement_leaves
  for each row execute function settlement_leaf_frozen();
