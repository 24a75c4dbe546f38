-- Telegram platform core: connected bots, the durable update queue, chats
-- (bot users with their conversation state), message history (incoming and
-- the outgoing queue), flows with versions, one-time link codes.

-- "Мои боты": an employee sees and manages the bots they connected.
update permissions set scope = 'own'
where role = 'employee' and resource = 'telegram' and action in ('view', 'create', 'edit');
update permissions set scope = 'own'
where role = 'employee' and resource = 'telegram' and action = 'delete';

create table bots (
    id uuid primary key default gen_random_uuid(),
    owner_id uuid references users (id) on delete set null,
    tg_id bigint not null,
    username text not null,
    first_name text not null default '',
    -- AES-256-GCM of the BotFather token; never leaves the server.
    token_enc bytea not null,
    -- SHA-256 of the token: the same bot can't be connected twice.
    token_hash text not null,
    enabled boolean not null default true,
    is_company boolean not null default false,
    -- SHA-256 of the webhook's secret_token while a webhook is set.
    webhook_secret_hash text,
    webhook_url text,
    poll_offset bigint not null default 0,
    last_error text,
    last_error_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint bots_token_hash_key unique (token_hash),
    constraint bots_tg_id_key unique (tg_id)
);
create trigger bots_updated_at before update on bots for each row execute function set_updated_at();
create unique index bots_one_company_idx on bots (is_company) where is_company;
create index bots_owner_idx on bots (owner_id);

-- Raw updates, stored before they are acknowledged. Re-deliveries hit the
-- unique key and are dropped.
create table bot_updates (
    id bigserial primary key,
    bot_id uuid not null references bots (id) on delete cascade,
    update_id bigint not null,
    chat_id bigint,
    payload jsonb not null,
    received_at timestamptz not null default clock_timestamp(),
    processed_at timestamptz,
    attempts int not null default 0,
    error text,
    constraint bot_updates_bot_update_key unique (bot_id, update_id)
);
create index bot_updates_pending_idx on bot_updates (id) where processed_at is null;
create index bot_updates_pending_chat_idx on bot_updates (bot_id, chat_id, id) where processed_at is null;

-- One row per (bot, chat): who the Telegram user is and where their
-- conversation stands.
create table bot_chats (
    id uuid primary key default gen_random_uuid(),
    bot_id uuid not null references bots (id) on delete cascade,
    chat_id bigint not null,
    tg_user_id bigint,
    username text,
    first_name text not null default '',
    last_name text not null default '',
    language text,
    phone text,
    first_seen_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    blocked boolean not null default false,
    blocked_at timestamptz,
    tags text[] not null default '{}',
    vars jsonb not null default '{}'::jsonb,
    -- Conversation state: the flow and step waiting for an answer.
    flow_id uuid,
    step_id text,
    resume_at timestamptz,
    -- An operator took the chat: automation is paused.
    operator_mode boolean not null default false,
    operator_id uuid references users (id) on delete set null,
    unread int not null default 0,
    last_message_at timestamptz,
    last_message_preview text not null default '',
    -- Links to the CRM.
    user_id uuid references users (id) on delete set null,
    client_id uuid references clients (id) on delete set null,
    lead_id uuid references leads (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint bot_chats_bot_chat_key unique (bot_id, chat_id)
);
create trigger bot_chats_updated_at before update on bot_chats for each row execute function set_updated_at();
create index bot_chats_inbox_idx on bot_chats (bot_id, last_message_at desc nulls last);
create index bot_chats_user_idx on bot_chats (user_id) where user_id is not null;
create index bot_chats_resume_idx on bot_chats (resume_at) where resume_at is not null;

-- Message history. Outgoing rows are also the send queue: a sender claims
-- `queued` rows whose `not_before` has come, in order per chat.
create table bot_messages (
    id bigserial primary key,
    bot_id uuid not null references bots (id) on delete cascade,
    chat_id bigint not null,
    direction text not null,
    kind text not null default 'text',
    body text not null default '',
    payload jsonb not null default '{}'::jsonb,
    tg_message_id bigint,
    update_row_id bigint,
    status text not null default 'done',
    error text,
    attempts int not null default 0,
    not_before timestamptz not null default now(),
    sent_by uuid references users (id) on delete set null,
    created_at timestamptz not null default clock_timestamp(),
    sent_at timestamptz,
    search tsvector generated always as (to_tsvector('russian', body)) stored,
    constraint bot_messages_direction_check check (direction in ('in', 'out')),
    constraint bot_messages_status_check check (status in ('done', 'queued', 'sending', 'sent', 'failed'))
);
create index bot_messages_chat_idx on bot_messages (bot_id, chat_id, id);
create index bot_messages_queue_idx on bot_messages (not_before, id) where status in ('queued', 'sending');
create index bot_messages_search_idx on bot_messages using gin (search);

-- Flows: a draft being edited and the published body the engine runs.
create table bot_flows (
    id uuid primary key default gen_random_uuid(),
    bot_id uuid not null references bots (id) on delete cascade,
    name text not null,
    draft jsonb not null,
    published jsonb,
    version int not null default 0,
    enabled boolean not null default true,
    position int not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger bot_flows_updated_at before update on bot_flows for each row execute function set_updated_at();
create index bot_flows_bot_idx on bot_flows (bot_id, position);

create table bot_flow_versions (
    flow_id uuid not null references bot_flows (id) on delete cascade,
    version int not null,
    body jsonb not null,
    published_by uuid references users (id) on delete set null,
    published_at timestamptz not null default now(),
    primary key (flow_id, version)
);

-- One-time deep-link codes linking a CRM user to their Telegram.
create table telegram_link_codes (
    code text primary key,
    user_id uuid not null references users (id) on delete cascade,
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now()
);
