-- Foundation: accounts, sessions bookkeeping, permission matrix, audit log, notifications.

create or replace function set_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at = now();
    return new;
end;
$$;

create table teams (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger teams_updated_at before update on teams for each row execute function set_updated_at();

create table users (
    id uuid primary key default gen_random_uuid(),
    email text not null,
    password_hash text,
    full_name text not null,
    role text not null,
    status text not null default 'active',
    blocked_at timestamptz,
    session_epoch integer not null default 0,
    totp_secret_enc bytea,
    totp_enabled_at timestamptz,
    phone text,
    city text,
    niche text,
    legal_form text,
    inn text,
    company_name text,
    requested_role text,
    referral_code text,
    referred_by uuid references users (id) on delete set null,
    team_id uuid references teams (id) on delete set null,
    lang text not null default 'ru',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint users_email_key unique (email),
    constraint users_referral_code_key unique (referral_code),
    constraint users_role_check check (role in ('admin', 'employee', 'partner', 'franchisee', 'guest')),
    constraint users_status_check check (status in ('active', 'pending', 'rejected')),
    constraint users_email_lower_check check (email = lower(email)),
    constraint users_requested_role_check check (requested_role is null or requested_role in ('partner', 'franchisee')),
    constraint users_legal_form_check check (legal_form is null or legal_form in ('ip', 'ooo', 'self_employed', 'individual'))
);
create trigger users_updated_at before update on users for each row execute function set_updated_at();
create index users_created_at_idx on users (created_at desc);
create index users_status_idx on users (status);

create table recovery_codes (
    id bigserial primary key,
    user_id uuid not null references users (id) on delete cascade,
    code_hash text not null,
    used_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger recovery_codes_updated_at before update on recovery_codes for each row execute function set_updated_at();
create index recovery_codes_user_idx on recovery_codes (user_id);

create table login_attempts (
    id bigserial primary key,
    email text not null,
    ip inet,
    succeeded boolean not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index login_attempts_email_idx on login_attempts (email, created_at);
create index login_attempts_ip_idx on login_attempts (ip, created_at);

create table invitations (
    id uuid primary key default gen_random_uuid(),
    token_hash text not null,
    email text not null,
    role text not null,
    invited_by uuid references users (id) on delete set null,
    expires_at timestamptz not null,
    accepted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint invitations_token_hash_key unique (token_hash),
    constraint invitations_role_check check (role in ('admin', 'employee', 'partner', 'franchisee'))
);
create trigger invitations_updated_at before update on invitations for each row execute function set_updated_at();

create table api_tokens (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id) on delete cascade,
    name text not null,
    token_hash text not null,
    prefix text not null,
    created_by uuid references users (id) on delete set null,
    last_used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint api_tokens_token_hash_key unique (token_hash)
);
create trigger api_tokens_updated_at before update on api_tokens for each row execute function set_updated_at();
create index api_tokens_user_idx on api_tokens (user_id);

create table oauth_identities (
    provider text not null,
    subject text not null,
    user_id uuid not null references users (id) on delete cascade,
    email text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint oauth_identities_pkey primary key (provider, subject)
);
create trigger oauth_identities_updated_at before update on oauth_identities for each row execute function set_updated_at();

create table permissions (
    role text not null,
    resource text not null,
    action text not null,
    scope text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint permissions_pkey primary key (role, resource, action),
    constraint permissions_scope_check check (scope in ('none', 'own', 'team', 'all'))
);
create trigger permissions_updated_at before update on permissions for each row execute function set_updated_at();

create table role_settings (
    role text primary key,
    require_2fa boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger role_settings_updated_at before update on role_settings for each row execute function set_updated_at();

create table app_settings (
    key text primary key,
    value jsonb not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger app_settings_updated_at before update on app_settings for each row execute function set_updated_at();

create table audit_log (
    id bigserial primary key,
    actor_id uuid references users (id) on delete set null,
    actor_email text,
    ip inet,
    entity text not null,
    entity_id text not null,
    action text not null,
    before jsonb,
    after jsonb,
    diff jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index audit_log_created_idx on audit_log (created_at desc, id desc);
create index audit_log_actor_idx on audit_log (actor_id, created_at desc);
create index audit_log_entity_idx on audit_log (entity, entity_id);

create table notifications (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id) on delete cascade,
    title text not null,
    body text not null default '',
    link text,
    read_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger notifications_updated_at before update on notifications for each row execute function set_updated_at();
create index notifications_user_idx on notifications (user_id, created_at desc);

-- Default permission matrix. Every (role, resource, action) has a row; 'none' denies.
insert into permissions (role, resource, action, scope)
select r.role, res.resource, a.action, 'none'
from (values ('admin'), ('employee'), ('partner'), ('franchisee'), ('guest')) as r (role)
cross join (values ('users'), ('leads'), ('clients'), ('auction'), ('reports'), ('telegram'), ('settings'), ('audit')) as res (resource)
cross join (values ('view'), ('create'), ('edit'), ('delete'), ('export'), ('import')) as a (action);

update permissions set scope = 'all' where role = 'admin';

update permissions set scope = 'all' where role = 'employee'
    and resource in ('leads', 'clients') and action in ('view', 'create', 'edit', 'export', 'import');
update permissions set scope = 'all' where role = 'employee'
    and ((resource = 'auction' and action in ('view', 'edit'))
      or (resource = 'reports' and action in ('view', 'export'))
      or (resource = 'telegram' and action in ('view', 'create', 'edit'))
      or (resource = 'users' and action = 'view'));

update permissions set scope = 'own' where role = 'partner'
    and ((resource = 'users' and action in ('view', 'edit'))
      or (resource = 'leads' and action in ('view', 'create', 'edit'))
      or (resource = 'clients' and action = 'view')
      or (resource = 'reports' and action = 'view')
      or (resource = 'telegram' and action = 'view'));

update permissions set scope = 'own' where role = 'franchisee'
    and ((resource = 'users' and action in ('view', 'edit'))
      or (resource = 'auction' and action in ('view', 'create'))
      or (resource = 'telegram' and action = 'view'));
update permissions set scope = 'team' where role = 'franchisee'
    and ((resource in ('leads', 'clients') and action in ('view', 'create', 'edit', 'export'))
      or (resource = 'reports' and action = 'view'));

update permissions set scope = 'own' where role = 'guest'
    and resource = 'users' and action in ('view', 'edit');

insert into role_settings (role) values ('admin'), ('employee'), ('partner'), ('franchisee'), ('guest');
insert into app_settings (key, value) values ('self_registration', 'true'::jsonb);
