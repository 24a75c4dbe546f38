-- API tokens are looked up once per client every few seconds, not on every
-- request (domain/src/accounts/tokens.rs keeps what it read in memory). So
-- that a revoked token or a blocked or re-roled user stops working at once on
-- every instance, whatever path changed the row (the app, a migration, an
-- operator's SQL), the database itself announces it on the realtime channel.
create function announce_credentials_changed() returns trigger
language plpgsql as $$
begin
    perform pg_notify('mak_events', '{"type":"credentials_changed"}');
    return null;
end
$$;

create trigger api_tokens_credentials_changed
    after update of revoked_at, user_id, token_hash or delete on api_tokens
    for each statement execute function announce_credentials_changed();

create trigger users_credentials_changed
    after update of role, status, team_id, blocked_at, email, full_name or delete on users
    for each statement execute function announce_credentials_changed();
