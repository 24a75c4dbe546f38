-- amoCRM: the one connected account, the shared request pace, the mapping
-- of their pipelines, statuses, users and fields onto ours, the links
-- between their records and ours, the initial import and the sync log.

-- One account per company (the row exists once connecting starts).
create table amocrm_connection (
    id boolean primary key default true check (id),
    subdomain text not null,
    -- 'oauth' (code exchange, rotating refresh tokens) or 'long_lived'.
    mode text not null check (mode in ('oauth', 'long_lived')),
    client_id text not null default '',
    client_secret bytea,
    redirect_uri text not null default '',
    -- The consent in progress: the `state` amoCRM must hand back.
    oauth_state text,
    access_token bytea,
    refresh_token bytea,
    expires_at timestamptz,
    -- pending: consent not finished; active; reauth: a refresh or the token
    -- was refused (someone must connect again); blocked: amoCRM answered 403.
    status text not null default 'pending' check (status in ('pending', 'active', 'reauth', 'blocked')),
    problem text not null default '',
    account_name text not null default '',
    connected_by uuid references users(id) on delete set null,
    connected_at timestamptz,
    updated_at timestamptz not null default now()
);

-- The pace of requests to the account, shared by every instance: when the
-- last 7 requests went (oldest first). An 8th goes only once the oldest is
-- more than a second old.
create table amocrm_pace (
    id boolean primary key default true check (id),
    recent timestamptz[] not null default '{}'
);
insert into amocrm_pace default values;

-- Their values and what they mean here. kind: pipeline, status, user,
-- field (a lead custom field), enum (a select field's value). local_key:
-- a stage / pipeline / user id, or for a field 'product', 'cf_N', 'city'
-- or '' (not mapped). remote_parent: a status's pipeline, an enum's field.
create table amocrm_map (
    kind text not null check (kind in ('pipeline', 'status', 'user', 'field', 'enum')),
    remote_id bigint not null,
    remote_parent bigint,
    remote_name text not null,
    remote_type text not null default '',
    local_key text not null default '',
    -- Chosen by a person (kept when the remote side is read again).
    confirmed boolean not null default false,
    seen_at timestamptz not null default now(),
    primary key (kind, remote_id)
);

-- Their record ↔ ours. remote_updated_at: their `updated_at` last seen.
create table amocrm_links (
    kind text not null check (kind in ('lead', 'contact')),
    remote_id bigint not null,
    local_id uuid not null,
    remote_updated_at bigint not null default 0,
    linked_at timestamptz not null default now(),
    primary key (kind, remote_id)
);
create index amocrm_links_local_idx on amocrm_links (kind, local_id);

-- The initial import, one at a time; resumed from `next_page` after a
-- restart (each page is written with its checkpoint).
create table amocrm_imports (
    id uuid primary key default gen_random_uuid(),
    status text not null default 'running' check (status in ('running', 'done', 'failed', 'cancelled')),
    started_by uuid references users(id) on delete set null,
    next_page int not null default 1,
    leads_seen bigint not null default 0,
    leads_created bigint not null default 0,
    leads_known bigint not null default 0,
    clients_created bigint not null default 0,
    clients_merged bigint not null default 0,
    unmapped bigint not null default 0,
    requests bigint not null default 0,
    error text not null default '',
    locked_until timestamptz,
    started_at timestamptz not null default now(),
    finished_at timestamptz
);
create unique index amocrm_imports_one_running on amocrm_imports ((true)) where status = 'running';

-- What an import or the sync could not place: a value with no mapping.
create table amocrm_unmapped (
    kind text not null,
    remote_id bigint not null,
    name text not null,
    sample text not null default '',
    times bigint not null default 0,
    last_at timestamptz not null default now(),
    primary key (kind, remote_id, sample)
);

-- Every operation of the integration, its result and its error.
create table amocrm_sync_log (
    id bigserial primary key,
    at timestamptz not null default now(),
    direction text not null check (direction in ('in', 'out', 'system')),
    operation text not null,
    entity text not null default '',
    remote_id bigint,
    local_id uuid,
    result text not null check (result in ('ok', 'error', 'skipped')),
    detail text not null default ''
);
create index amocrm_sync_log_at_idx on amocrm_sync_log (at desc);
