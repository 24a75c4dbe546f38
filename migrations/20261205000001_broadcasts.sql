-- Broadcasts: a bot sends one message to many of its users, now, at a time
-- or on a repeat, at Telegram's rate, and counts honestly what happened.

-- A user who sent /stop gets no broadcasts until /start.
alter table bot_chats
    add column opted_out boolean not null default false,
    add column opted_out_at timestamptz;
create index bot_chats_audience_idx on bot_chats (bot_id) where not blocked and not opted_out;

-- Per bot: how fast its broadcasts go (Telegram allows 30 a second) and the
-- line under every broadcast message.
alter table bots
    add column broadcast_rate int not null default 30,
    add column broadcast_footer text not null default 'Чтобы не получать рассылки, отправьте /stop',
    add constraint bots_broadcast_rate_check check (broadcast_rate between 1 and 30);

-- Saved audiences: a filter over a bot's users (see domain::broadcasts::audience).
create table bot_segments (
    id uuid primary key default gen_random_uuid(),
    bot_id uuid not null references bots (id) on delete cascade,
    name text not null,
    filter jsonb not null,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint bot_segments_name_key unique (bot_id, name)
);
create trigger bot_segments_updated_at before update on bot_segments for each row execute function set_updated_at();

create table broadcasts (
    id uuid primary key default gen_random_uuid(),
    bot_id uuid not null references bots (id) on delete cascade,
    title text not null default '',
    text text not null,
    -- A photo or document: {"kind", "upload_id", "name"}; `file_id` is
    -- filled by the first send and reused by the rest.
    media jsonb,
    file_id text,
    -- [{"text", "url"} | {"text", "flow_id"}]
    buttons jsonb not null default '[]'::jsonb,
    segment_id uuid references bot_segments (id) on delete set null,
    -- The audience as decided: the segment's filter and the extra tags.
    audience jsonb not null default '{}'::jsonb,
    state text not null default 'draft',
    send_at timestamptz,
    -- A repeating broadcast is a template: each firing is a child.
    repeat text,
    parent_id uuid references broadcasts (id) on delete set null,
    fire_at timestamptz,
    created_by uuid references users (id) on delete set null,
    approved_by uuid references users (id) on delete set null,
    approved_at timestamptz,
    -- Counted when the recipients were materialised.
    total int not null default 0,
    skipped_blocked int not null default 0,
    skipped_opted_out int not null default 0,
    started_at timestamptz,
    finished_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint broadcasts_state_check check (state in ('draft', 'scheduled', 'awaiting_approval', 'sending',
                                                      'paused', 'done', 'cancelled')),
    constraint broadcasts_repeat_check check (repeat is null or repeat in ('daily', 'weekly')),
    -- A repeat fires once per time, whatever the number of instances.
    constraint broadcasts_fire_key unique (parent_id, fire_at)
);
create trigger broadcasts_updated_at before update on broadcasts for each row execute function set_updated_at();
create index broadcasts_bot_idx on broadcasts (bot_id, created_at desc);
create index broadcasts_due_idx on broadcasts (send_at) where state = 'scheduled';
create index broadcasts_sending_idx on broadcasts (bot_id) where state = 'sending';

-- One row per recipient, unique per broadcast: the delivery queue and the
-- statistics at once.
create table broadcast_recipients (
    id bigserial primary key,
    broadcast_id uuid not null references broadcasts (id) on delete cascade,
    bot_id uuid not null,
    chat_id bigint not null,
    status text not null default 'queued',
    attempts int not null default 0,
    not_before timestamptz not null default now(),
    error text,
    sent_at timestamptz,
    tg_message_id bigint,
    -- Within 24 h of the send: pressed a button or wrote to the bot; blocked
    -- the bot; sent /stop.
    engaged_at timestamptz,
    blocked_at timestamptz,
    opted_out_at timestamptz,
    constraint broadcast_recipients_key unique (broadcast_id, chat_id),
    constraint broadcast_recipients_status_check check (status in ('queued', 'sending', 'delivered', 'failed',
                                                                   'blocked'))
);
create index broadcast_recipients_queue_idx on broadcast_recipients (broadcast_id, id) where status = 'queued';
create index broadcast_recipients_sending_idx on broadcast_recipients (broadcast_id) where status = 'sending';
create index broadcast_recipients_chat_idx on broadcast_recipients (bot_id, chat_id, sent_at);

create table broadcast_clicks (
    recipient_id bigint not null references broadcast_recipients (id) on delete cascade,
    button int not null,
    clicked_at timestamptz not null default now(),
    primary key (recipient_id, button)
);

-- One instance sends a bot's broadcasts at a time (its pace is kept in
-- that process); the lease passes on when the holder stops renewing it.
create table broadcast_lanes (
    bot_id uuid primary key references bots (id) on delete cascade,
    holder uuid not null,
    lease_until timestamptz not null
);

-- The matrix: broadcasts are their own resource. Employees (managers) see,
-- create and send; a broadcast to more recipients than the company's
-- threshold waits for someone with approve (admins).
insert into permissions (role, resource, action, scope)
select r.role, 'broadcasts', a.action, 'none'
from (values ('admin'), ('employee'), ('partner'), ('franchisee'), ('guest')) as r (role)
cross join (values ('view'), ('create'), ('send'), ('approve'), ('export')) as a (action)
on conflict (role, resource, action) do nothing;
update permissions set scope = 'all' where resource = 'broadcasts' and role = 'admin';
update permissions set scope = 'all'
where resource = 'broadcasts' and role = 'employee' and action in ('view', 'create', 'send', 'export');

insert into app_settings (key, value) values ('broadcast_approval_threshold', '1000'::jsonb)
on conflict (key) do nothing;

-- Link buttons go through the CRM (`/b/<recipient>/<button>/<signature>`)
-- when it has a public address, so their presses are counted too; the
-- signature is keyed by this per-broadcast secret.
alter table broadcasts add column link_secret text not null default gen_random_uuid()::text;
