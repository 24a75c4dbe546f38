-- The last TOTP code a user signed in with (hashed) and when: the same code
-- presented again while it is still valid is refused.
alter table users add column totp_last_code_hash text;
alter table users add column totp_last_code_at timestamptz;
