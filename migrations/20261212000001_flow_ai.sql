-- The flow step «Ответ ИИ»: what a conversation waits on while the AI
-- thinks. The update's transaction queues the ask and parks the chat on
-- the step; a worker asks the AI (outside any transaction) and, in one
-- short transaction, puts the answer into the chat's variables and moves
-- it on — only if the chat still waits on this very ask.
create table flow_ai_asks (
    id uuid primary key default gen_random_uuid(),
    bot_id uuid not null references bots (id) on delete cascade,
    chat_id bigint not null,
    flow_id uuid not null,
    step_id text not null,
    -- The chat-completions messages, as asked.
    messages jsonb not null,
    state text not null default 'pending'
        constraint flow_ai_asks_state_check check (state in ('pending', 'answered', 'failed', 'dropped')),
    answer text,
    model text,
    tokens_in integer,
    tokens_out integer,
    latency_ms integer,
    error text,
    claimed_until timestamptz,
    created_at timestamptz not null default now(),
    finished_at timestamptz
);
create index flow_ai_asks_pending_idx on flow_ai_asks (created_at) where state = 'pending';
create index flow_ai_asks_bot_time_idx on flow_ai_asks (bot_id, created_at desc);
