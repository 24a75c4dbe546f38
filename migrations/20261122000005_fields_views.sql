-- Extra lead fields the admin defines, and saved list views.

-- A custom field's value lives in leads.extra under its key (cf_1, cf_2, …):
-- text and choice as JSON strings, numbers as JSON numbers, dates as
-- "YYYY-MM-DD" strings. Each field gets a B-tree index on (extra -> key),
-- created when the field is added; jsonb compares numbers numerically and
-- ISO dates as strings, so equality and ranges both use it.
create sequence custom_fields_key_seq;
create table custom_fields (
    id uuid primary key default gen_random_uuid(),
    key text not null default ('cf_' || nextval('custom_fields_key_seq')),
    label text not null,
    kind text not null,
    options text[] not null default '{}',
    position integer not null default 0,
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint custom_fields_key_key unique (key),
    constraint custom_fields_label_key unique (label),
    constraint custom_fields_key_check check (key ~ '^cf_[0-9]{1,9}$'),
    constraint custom_fields_kind_check check (kind in ('text', 'number', 'date', 'choice')),
    constraint custom_fields_options_check check (kind <> 'choice' or cardinality(options) > 0)
);
create trigger custom_fields_updated_at before update on custom_fields for each row execute function set_updated_at();

-- A saved view: the list's filter and sort as a query string, and its columns.
create table saved_views (
    id uuid primary key default gen_random_uuid(),
    owner_id uuid not null references users (id) on delete cascade,
    name text not null,
    query text not null default '',
    columns text[] not null default '{}',
    shared boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint saved_views_owner_name_key unique (owner_id, name)
);
create trigger saved_views_updated_at before update on saved_views for each row execute function set_updated_at();
create index saved_views_shared_idx on saved_views (name) where shared;

