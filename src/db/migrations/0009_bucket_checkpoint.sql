-- Bucket checkpoints (src/subscriptions/reconcile.ts): the bucket tokens the drain charged to
-- metered usage are consumed on chain (SubscriptionManager.consumeTokens) in one transaction per
-- pass. `settled_at` keeps its PAYG meaning: an event can carry both bucket tokens and PAYG wei
-- (the bucket ran out mid-request), and PAYG settlement stamps it when its PAYG part is collected,
-- which says nothing about its bucket tokens. So the bucket has its own marks.
--
-- A checkpoint is recorded ('intended', with its usage rows attached) before its transaction is
-- signed; the signed hash is stored ('sent') before it is broadcast. A run that finds a checkpoint
-- still open decides from the chain whether it landed (its receipt, else a TokensConsumed of the
-- pass for that amount since `from_block`), so no usage is ever consumed twice.
create table bucket_checkpoints (
  id          bigserial primary key,
  account_id  uuid not null references accounts(id),
  pass_id     numeric(78, 0) not null check (pass_id > 0),
  tokens      numeric(78, 0) not null check (tokens > 0),
  state       text not null default 'intended' check (state in ('intended', 'sent', 'done', 'failed')),
  -- The chain's block when the intent was recorded: the transaction cannot have landed before it.
  from_block  numeric(78, 0) not null,
  tx_hash     text check (tx_hash ~ '^0x[0-9a-f]{64}$'),
  error       text,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);
-- One open checkpoint per pass: recovery can then attribute the pass's consumption to it.
create unique index bucket_checkpoints_open on bucket_checkpoints(pass_id) where state in ('intended', 'sent');

alter table usage_events add column bucket_checkpoint bigint references bucket_checkpoints(id);
-- When the event's bucket tokens were consumed on chain (null: still to be deducted from the pass).
alter table usage_events add column bucket_checkpointed_at timestamptz;
create index usage_events_bucket_due on usage_events(account_id)
  where bucket_tokens > 0 and bucket_checkpointed_at is null;
