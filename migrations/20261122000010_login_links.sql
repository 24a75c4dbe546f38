-- One-time sign-in links the company bot hands to a linked Telegram user
-- (/login): people who registered through the bot have no password yet.
create table login_links (
    token_hash text primary key,
    user_id uuid not null references users (id) on delete cascade,
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now()
);
create index login_links_user_idx on login_links (user_id);
