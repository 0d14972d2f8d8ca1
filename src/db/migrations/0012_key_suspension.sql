-- Settlement shortfalls suspend an account's API keys until it pays (src/settlement/shortfalls.ts).
-- One column on the account, not one per key: every key of the account, including one created while
-- suspended, is refused the same way, and what is owed is read from the account's shortfall leaves.
alter table accounts add column keys_suspended_at timestamptz;

-- The accounts suspension looks at: those with a leaf the chain could not collect.
create index settlement_leaves_shortfall on settlement_leaves(account_id) where status = 'shortfall';
