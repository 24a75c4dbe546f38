-- Outgoing webhooks (issue «Integrations»): admins subscribe URLs to
-- business events. The domain-events dispatcher writes one delivery per
-- matching subscription in the event's handling transaction; a worker posts
-- them signed (HMAC-SHA256 over the timestamp and body), in order per
-- record, retrying with growing pauses for a day. Every attempt is kept for
-- the delivery log; a subscription failing for a day is paused.

create table webhook_subscriptions (
    id uuid primary key default gen_random_uuid(),
    url text not null,
    description text not null default '',
    -- Public event names ("lead.created", "lead.won", …).
    events text[] not null,
    -- The signing secret, AES-256-GCM under the app's key: shown once.
    secret_encrypted bytea not null,
    -- active: delivered; paused: kept waiting (by hand or after a day of
    -- failures) until resumed.
    state text not null default 'active',
    paused_reason text not null default '',
    -- The first failure since the last success; a day of it pauses.
    failing_since timestamptz,
    owner_id uuid not null references users (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint webhook_subscriptions_state_check check (state in ('active', 'paused')),
    constraint webhook_subscriptions_events_check check (cardinality(events) between 1 and 50),
    constraint webhook_subscriptions_url_check check (url ~ '^https?://' and length(url) <= 2000)
);
create trigger webhook_subscriptions_updated_at before update on webhook_subscriptions
    for each row execute function set_updated_at();

create table webhook_deliveries (
    id bigint generated always as identity primary key,
    subscription_id uuid not null references webhook_subscriptions (id) on delete cascade,
    -- The same for every delivery (and replay) of one event: receivers
    -- drop what they have seen by it.
    event_id uuid not null,
    event text not null,
    -- Deliveries with the same key (the lead, the lot…) go out in id order.
    ordering_key uuid not null,
    body jsonb not null,
    -- pending: to be sent; delivered: answered 2xx; failed: given up after
    -- a day of retries (or refused for good).
    state text not null default 'pending',
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    -- A worker posting it holds it until then; a crashed one's lease ends.
    leased_until timestamptz,
    -- The delivery this one replays, if any.
    replay_of bigint references webhook_deliveries (id) on delete set null,
    last_status integer,
    last_error text not null default '',
    created_at timestamptz not null default now(),
    finished_at timestamptz,
    constraint webhook_deliveries_state_check check (state in ('pending', 'delivered', 'failed'))
);
-- The worker's claim: due pending deliveries, oldest first.
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at, id) where state = 'pending';
-- «Is an older one of this record still waiting?»
create index webhook_deliveries_order_idx on webhook_deliveries (subscription_id, ordering_key, id)
    where state = 'pending';
create index webhook_deliveries_log_idx on webhook_deliveries (subscription_id, id desc);

create table webhook_attempts (
    id bigint generated always as identity primary key,
    delivery_id bigint not null references webhook_deliveries (id) on delete cascade,
    at timestamptz not null default now(),
    status integer,
    error text not null default '',
    -- The first 500 characters of what the receiver answered.
    response text not null default '',
    duration_ms integer not null
);
create index webhook_attempts_delivery_idx on webhook_attempts (delivery_id, id);

-- The webhooks subscriber starts at the events written from now on: what
-- happened before any subscription existed was for no one.
insert into event_cursors (subscriber, id)
select 'webhooks', coalesce(max(id), 0) from domain_events
on conflict (subscriber) do nothing;

-- The log keeps finished deliveries for 30 days (the hourly purge).
create index webhook_deliveries_finished_idx on webhook_deliveries (finished_at) where state <> 'pending';
