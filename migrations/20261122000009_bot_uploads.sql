-- Files an operator sends from the inbox, kept until the sender uploads
-- them to Telegram (the outgoing message refers to the row).
create table bot_uploads (
    id uuid primary key default gen_random_uuid(),
    bot_id uuid not null references bots (id) on delete cascade,
    name text not null,
    content_type text not null default 'application/octet-stream',
    size_bytes int not null,
    data bytea not null,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    constraint bot_uploads_size_check check (size_bytes > 0)
);
create index bot_uploads_bot_idx on bot_uploads (bot_id);
