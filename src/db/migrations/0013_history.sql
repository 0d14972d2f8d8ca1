-- The indexer books every PAYG collection and shortfall into the user's transaction history
-- (src/indexer/history.ts). One collectChunk transaction charges many users, so these rows carry
-- the transaction in details and are keyed by their leaf instead: ref = leaf:<batch>:<index>.
create unique index token_transactions_leaf on token_transactions(ref) where type = 'usage_charge';
