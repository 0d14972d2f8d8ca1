-- Per-key spending (issue 15). An API key's optional monthly spend limit, in wei of CXPT, that the
-- compute gate enforces (402 KEY_LIMIT_REACHED once the key's usage this calendar month (UTC) reaches
-- it); null means no limit. Set by the key's owner (PUT /api/v1/keys/:id/limit).
alter table api_keys add column monthly_limit_wei numeric(78, 0) check (monthly_limit_wei is null or monthly_limit_wei > 0);

-- Which key a metered request came with, so the dashboards can show each key's requests, spend this
-- month and last use; null for requests drained before this column existed (and until the drain writes it).
alter table usage_events add column api_key_id uuid references api_keys(id);
create index usage_events_key on usage_events(api_key_id, recorded_at) where api_key_id is not null;

-- The model a metered request asked for (the usage view's per-model breakdown); null where the drain did
-- not record it (the view then shows the service).
alter table usage_events add column model text;
