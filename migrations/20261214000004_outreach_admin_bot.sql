-- The outreach admin bot: one connected bot (from OUTREACH_BOT_TOKEN, or
-- marked in the CRM) whose chats are the sales team's remote control
-- rather than customers. Its updates are stored like any bot's but handled
-- by the outreach module, never by the flows or the inbox.

alter table bots add column is_outreach_admin boolean not null default false;
create unique index bots_one_outreach_admin on bots (is_outreach_admin) where is_outreach_admin;

-- Where a chat with the admin bot is in a multi-step command: adding an
-- account waits for the code, then for the 2FA password.
create table outreach_bot_chats (
    bot_id uuid not null references bots (id) on delete cascade,
    chat_id bigint not null,
    step text not null check (step in ('code', 'password')),
    phone text not null,
    updated_at timestamptz not null default now(),
    primary key (bot_id, chat_id)
);

-- A reply the AI sorted as «go on» whose answer then waited for its
-- account's slot: the message it sorted, so it is not asked twice.
alter table outreach_targets add column sorted_through bigint;
