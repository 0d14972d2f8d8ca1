-- The chain indexer: the suite's events as the chain reported them, and how far it got per chain.
-- A block hash identifies an event with its log index, so events of a block orphaned by a reorg can
-- never collide with those of its replacement; they are deleted as the cursor moves back.
create table chain_events (
  id bigserial primary key,
  chain_id integer not null,
  block_number bigint not null,
  block_hash text not null,
  tx_hash text not null,
  log_index integer not null,
  contract text not null,
  address text not null,
  event text not null,
  -- Decoded arguments: bigints as decimal strings, addresses lower-case.
  args jsonb not null,
  indexed_at timestamptz not null default now(),
  unique (chain_id, block_hash, log_index)
);
create index chain_events_block on chain_events(chain_id, block_number);
create index chain_events_event on chain_events(chain_id, contract, event, block_number);

-- The last block indexed (its events are in chain_events), with its hash to detect reorgs.
-- block_number is the deployment block - 1 and block_hash null before the first step.
create table indexer_cursor (
  chain_id integer primary key,
  block_number bigint not null,
  block_hash text,
  updated_at timestamptz not null default now()
);
