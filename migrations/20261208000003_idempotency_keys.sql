-- `Idempotency-Key` on the API's creating requests: the first answer per
-- (caller, key) is kept for a day and sent again to a retry.
create table idempotency_keys (
    -- SHA-256 of the caller's credential (the bearer token).
    caller text not null,
    key text not null,
    -- SHA-256 of method, path and body: the same key on another request is refused.
    fingerprint text not null,
    -- Null while the first request runs.
    status integer,
    body bytea,
    created_at timestamptz not null default now(),
    primary key (caller, key)
);
create index idempotency_keys_created_idx on idempotency_keys (created_at);
