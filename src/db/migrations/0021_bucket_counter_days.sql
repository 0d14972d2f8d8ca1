-- Bucket checkpoints over the counter store (COUNTER_STORE=dynamodb; src/subscriptions/bucket-usage.ts).
-- The counters say how many bucket tokens each account drew per UTC day; PostgreSQL says how many of
-- them checkpoints claimed (bucket_checkpoint_days: intended, sent or done ones; a failed checkpoint
-- claims nothing) and so stays the source of truth for what was consumed on chain.
--
-- The drain bumps an account-day's row in bucket_days_due AFTER counting its usage: every count is
-- followed by a bump. The reconciliation reads a due day's version, then its counter; it deletes the
-- row only when the checkpoints claim all it read and the version is still the one it read, so a count
-- it did not see always leaves a row behind. A failed checkpoint puts its days back.
create table bucket_days_due (
  account_id uuid not null references accounts(id),
  day        date not null,
  version    bigint not null default 1,
  primary key (account_id, day)
);

create table bucket_checkpoint_days (
  checkpoint_id bigint not null references bucket_checkpoints(id),
  account_id    uuid not null references accounts(id),
  day           date not null,
  tokens        numeric(78, 0) not null check (tokens > 0),
  primary key (checkpoint_id, day)
);
create index bucket_checkpoint_days_account on bucket_checkpoint_days(account_id, day);
