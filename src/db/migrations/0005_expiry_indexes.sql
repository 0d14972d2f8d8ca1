-- Expired nonces and sessions are deleted as new ones are issued; these keep that cheap.
create index siwe_nonces_expiry on siwe_nonces(expires_at);
create index sessions_account_expiry on sessions(account_id, expires_at);
