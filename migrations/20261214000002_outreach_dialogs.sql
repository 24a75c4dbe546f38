-- What the dialogs need beyond the first message: the person's access hash
-- as the writing account resolved it (MTProto addresses a user by id and
-- hash), and for each message the AI wrote, what it cost.
alter table outreach_targets add column tg_access_hash bigint;

alter table outreach_messages
    add column model text,
    add column tokens_in int,
    add column tokens_out int,
    add column latency_ms int;
