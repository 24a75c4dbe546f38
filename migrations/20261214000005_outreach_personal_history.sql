-- A campaign's first message may be rewritten by the AI for each person,
-- from the template, the person's name and the target's own columns.
alter table outreach_campaigns add column personalize boolean not null default false;

-- A dialog's history can be read back from Telegram (messages that came
-- while nothing listened, or that the manager wrote from the phone): an
-- outgoing message is kept once per account, as an incoming one already is.
create unique index outreach_messages_outgoing on outreach_messages (account_id, tg_message_id)
    where direction = 'out' and tg_message_id is not null;

-- The history is read in the order things were said; a message filed late
-- keeps Telegram's time.
create index outreach_messages_target_at on outreach_messages (target_id, at, id);
