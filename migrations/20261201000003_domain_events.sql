-- Domain events (the outbox): what happened, written in the transaction
-- that made it happen, and handed to each subscriber exactly once, in id
-- order. An event committed late can't be skipped: writers hold a shared
-- advisory lock until they commit, and the dispatcher reads only up to the
-- highest id it saw while holding that lock exclusively for an instant.
create table domain_events (
    id bigserial primary key,
    kind text not null,
    aggregate_id uuid not null,
    payload jsonb not null,
    -- Who caused it, so an integration can skip its own echoes.
    origin text not null,
    actor_id uuid,
    created_at timestamptz not null default now(),
    constraint domain_events_origin_check check (origin in ('user', 'import', 'bot', 'integration', 'system'))
);

-- Where each subscriber is: the last event handled, and when to retry
-- after a failure.
create table event_cursors (
    subscriber text primary key,
    id bigint not null default 0,
    retry_at timestamptz,
    updated_at timestamptz not null default now()
);

-- Failed attempts; after the last one the event is given up (`dead`) and
-- the subscriber moves on, so one bad event can't stop the others.
create table event_failures (
    subscriber text not null,
    event_id bigint not null references domain_events (id) on delete cascade,
    attempts integer not null default 0,
    last_error text not null,
    dead boolean not null default false,
    updated_at timestamptz not null default now(),
    primary key (subscriber, event_id)
);
