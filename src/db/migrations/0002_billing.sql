-- Legacy billing (CHAIN_STAGE=off) never touches the chain: usage that the legacy credits cannot
-- cover is owed off-chain, as legacy debt in atto-USD, per event and per account. Whoever grants
-- legacy credits nets the debt off first; the billing gate counts it against the credits.
alter table accounts add column legacy_debt_ausd numeric(78, 0) not null default 0 check (legacy_debt_ausd >= 0);
alter table usage_events add column legacy_debt_ausd numeric(78, 0) not null default 0 check (legacy_debt_ausd >= 0);
