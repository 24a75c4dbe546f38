-- Sales outreach from Telegram user accounts (MTProto): the accounts with
-- their caps, the campaigns, their targets and dialogs, and the people who
-- asked never to be written to. The caps are held here, not in a process:
-- a send takes the account's next slot with one conditional update, so two
-- instances can never exceed a cap or a delay together.

create table outreach_accounts (
    id uuid primary key default gen_random_uuid(),
    -- E.164, as the login asks for it.
    phone text not null unique,
    title text not null default '',
    status text not null default 'needs_login'
        check (status in ('active', 'paused', 'disabled', 'limited', 'banned', 'needs_login')),
    -- The MTProto session, AES-GCM encrypted; never shown, never logged.
    session_enc bytea,
    tg_user_id bigint,
    username text not null default '',
    daily_cap int not null default 20 check (daily_cap between 1 and 1000),
    min_delay_s int not null default 30 check (min_delay_s between 1 and 86400),
    -- Working hours in the company's zone: sends only in [work_from, work_to).
    work_from time not null default '10:00',
    work_to time not null default '20:00',
    check (work_from < work_to),
    -- The earliest moment the next message may go: the last one plus the
    -- delay and its jitter, or the end of a FLOOD_WAIT.
    next_send_at timestamptz,
    -- PEER_FLOOD: limited until then.
    limited_until timestamptz,
    last_sent_at timestamptz,
    last_error text not null default '',
    created_by uuid references users (id),
    created_at timestamptz not null default now()
);

-- Messages an account sent on a day of the company's zone. The row's check
-- and the conditional increment are what hold the daily cap.
create table outreach_account_days (
    account_id uuid not null references outreach_accounts (id) on delete cascade,
    day date not null,
    sent int not null default 0 check (sent >= 0),
    primary key (account_id, day)
);

create table outreach_campaigns (
    id uuid primary key default gen_random_uuid(),
    name text not null check (length(name) between 1 and 200),
    status text not null default 'draft' check (status in ('draft', 'running', 'paused', 'finished')),
    -- The first message, a template with {first_name}, {name}, {username}…
    first_message text not null default '',
    -- The sales script the AI follows in the dialogs.
    prompt text not null default '',
    stop_words text[] not null default '{}',
    -- The campaign's own cap over all its accounts, per day.
    daily_cap int not null default 100 check (daily_cap between 1 and 100000),
    -- Who gets the leads and continues the dialogs.
    manager_id uuid references users (id),
    created_by uuid references users (id),
    created_at timestamptz not null default now(),
    started_at timestamptz
);

create table outreach_campaign_accounts (
    campaign_id uuid not null references outreach_campaigns (id) on delete cascade,
    account_id uuid not null references outreach_accounts (id) on delete cascade,
    primary key (campaign_id, account_id)
);

create table outreach_campaign_days (
    campaign_id uuid not null references outreach_campaigns (id) on delete cascade,
    day date not null,
    sent int not null default 0 check (sent >= 0),
    primary key (campaign_id, day)
);

-- A person a campaign writes to: a username or a phone until resolved,
-- then a Telegram user. One account writes to them, once per campaign.
create table outreach_targets (
    id bigserial primary key,
    campaign_id uuid not null references outreach_campaigns (id) on delete cascade,
    -- `@username` lower-cased, or a phone in E.164.
    handle text not null,
    name text not null default '',
    vars jsonb not null default '{}',
    tg_user_id bigint,
    account_id uuid references outreach_accounts (id),
    status text not null default 'queued'
        check (status in ('queued', 'contacted', 'replied', 'interested', 'not_interested', 'stopped', 'failed')),
    reason text not null default '',
    lead_id uuid references leads (id),
    -- When the dialog's next automatic message is due (the first message,
    -- or the AI's reply after a human-like pause); null: nothing to do.
    due_at timestamptz,
    -- Claimed for sending (the slot taken, the message maybe on its way).
    sending_at timestamptz,
    created_at timestamptz not null default now(),
    contacted_at timestamptz,
    unique (campaign_id, handle)
);
create unique index outreach_targets_person on outreach_targets (campaign_id, tg_user_id) where tg_user_id is not null;
create index outreach_targets_due on outreach_targets (due_at) where due_at is not null;
create index outreach_targets_account on outreach_targets (account_id, tg_user_id);

-- Whoever said no, or not to be written to: never written again by any
-- campaign.
create table outreach_optouts (
    tg_user_id bigint primary key,
    handle text not null default '',
    reason text not null default '',
    created_at timestamptz not null default now()
);

-- Every message of every dialog, both ways.
create table outreach_messages (
    id bigserial primary key,
    target_id bigint not null references outreach_targets (id) on delete cascade,
    account_id uuid not null references outreach_accounts (id),
    direction text not null check (direction in ('out', 'in')),
    text text not null,
    -- Who wrote an outgoing one: the AI (null) or a manager.
    author_id uuid references users (id),
    tg_message_id bigint,
    at timestamptz not null default now()
);
create index outreach_messages_target on outreach_messages (target_id, id);
create unique index outreach_messages_incoming on outreach_messages (account_id, tg_message_id)
    where direction = 'in' and tg_message_id is not null;
