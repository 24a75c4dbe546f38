-- Personal API tokens get grants chosen at issue («leads:read»,
-- «telegram:write»…; null: everything its user may do — tokens issued
-- before, and from the command line), and an allowance of requests per
-- second shared by every instance (a token bucket per token).
alter table api_tokens add column scopes text[];

create table api_token_buckets (
    token_id uuid primary key references api_tokens (id) on delete cascade,
    -- Requests left; refilled by the seconds since `at`.
    tokens double precision not null,
    at timestamptz not null
);
