-- Fiat subscription payments (src/subscriptions/service.ts): one row per payment reference of the
-- fiat processor, so a retried payment never buys CXPT twice. Each step's outcome is written as
-- soon as it is known: 'pending' (nothing bought) → 'swapped' (the operator holds the plan's CXPT,
-- cxpt_wei) → 'activated' (deposit spent on the plan; booked in token_transactions). A failed
-- activation keeps the Vault deposit it made (deposit_id) so a retry spends that one.
-- `in_flight` names a step whose outcome is not known yet; a request finding it set after its
-- claim expired cannot tell whether the step happened, so the payment becomes 'unresolved' (for
-- an operator to reconcile) instead of being tried again.
create table fiat_payments (
  ref                text primary key check (length(ref) between 1 and 200),
  account_id         uuid not null references accounts(id),
  plan_id            integer not null check (plan_id > 0),
  -- What the user paid, in 1e-18 USD (the quoted plan price when the request did not say).
  usd_ausd           numeric(78, 0) check (usd_ausd >= 0),
  status             text not null default 'pending' check (status in ('pending', 'swapped', 'activated', 'unresolved')),
  in_flight          text check (in_flight in ('swap', 'activate')),
  -- One request works on a payment at a time: it holds the claim until this time.
  claimed_until      timestamptz,
  cxpt_wei           numeric(78, 0) check (cxpt_wei >= 0),
  swap_tx_hash       text check (swap_tx_hash ~ '^0x[0-9a-f]{64}$'),
  deposit_id         numeric(78, 0),
  deposit_tx_hash    text check (deposit_tx_hash ~ '^0x[0-9a-f]{64}$'),
  activation_tx_hash text check (activation_tx_hash ~ '^0x[0-9a-f]{64}$'),
  pass_id            numeric(78, 0),
  paid_wei           numeric(78, 0) check (paid_wei >= 0),
  burned_wei         numeric(78, 0) check (burned_wei >= 0),
  period_end         numeric(78, 0),
  last_error         jsonb,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now()
);
create index fiat_payments_account on fiat_payments(account_id, created_at);
