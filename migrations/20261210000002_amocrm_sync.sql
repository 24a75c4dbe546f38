-- amoCRM both ways: their webhooks in (a durable queue), our changes out
-- (an outbox fed by the domain events), the periodic pull's cursor, the
-- last values both sides agreed on (to tell who changed what), and the
-- differences the reconciliation finds.

alter table amocrm_connection
    -- SHA-256 of the secret in the webhook URL we gave amoCRM.
    add column webhook_secret_hash text,
    add column webhook_registered_at timestamptz,
    -- The pull reads leads updated since this (their `updated_at`), minus
    -- an overlap.
    add column pull_cursor bigint not null default 0,
    add column pulled_at timestamptz,
    add column reconciled_at timestamptz;

-- The values both sides had after the last sync, in our terms
-- ({stage, responsible, amount, product}); a side whose value differs
-- from it changed since.
alter table amocrm_links add column snapshot jsonb not null default '{}';

-- Webhooks as they came, processed by a worker (answered before that).
create table amocrm_inbox (
    id bigserial primary key,
    received_at timestamptz not null default now(),
    body text not null,
    state text not null default 'pending' check (state in ('pending', 'done', 'failed')),
    attempts int not null default 0,
    next_attempt_at timestamptz not null default now(),
    error text not null default '',
    processed_at timestamptz
);
create index amocrm_inbox_pending_idx on amocrm_inbox (next_attempt_at) where state = 'pending';

-- Our changes on their way to amoCRM: one pending push per lead (later
-- changes join it: the push sends the lead as it is then), notes one by one.
create table amocrm_outbox (
    id bigserial primary key,
    lead_id uuid not null references leads(id) on delete cascade,
    kind text not null check (kind in ('lead', 'note')),
    note text not null default '',
    state text not null default 'pending' check (state in ('pending', 'done', 'failed')),
    attempts int not null default 0,
    next_attempt_at timestamptz not null default now(),
    locked_until timestamptz,
    last_error text not null default '',
    created_at timestamptz not null default now(),
    finished_at timestamptz
);
create unique index amocrm_outbox_one_pending_lead on amocrm_outbox (lead_id) where kind = 'lead' and state = 'pending';
create index amocrm_outbox_due_idx on amocrm_outbox (next_attempt_at) where state = 'pending';

-- What the reconciliation found different, until fixed or gone.
create table amocrm_differences (
    remote_id bigint not null,
    lead_id uuid references leads(id) on delete cascade,
    field text not null,
    ours text not null default '',
    theirs text not null default '',
    found_at timestamptz not null default now(),
    primary key (remote_id, field)
);

-- The amoCRM subscriber starts after the events already written.
insert into event_cursors (subscriber, id)
select 'amocrm', coalesce(max(id), 0) from domain_events
on conflict do nothing;
