-- The sender claims the oldest pending message of each chat; the check
-- "nothing older pending in this chat" needs an index that starts with the
-- chat among the pending rows only. Without it, while the statistics lag
-- behind a burst, the planner walked the whole queue for every candidate.
create index bot_messages_pending_chat_idx on bot_messages (bot_id, chat_id, id)
    where status in ('queued', 'sending');
