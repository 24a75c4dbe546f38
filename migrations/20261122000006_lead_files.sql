-- Files attached to a lead (documents, scans). The bytes live in S3 under
-- `key`; the row is written only after the object is stored.
create table lead_files (
    id uuid primary key default gen_random_uuid(),
    lead_id uuid not null references leads (id) on delete cascade,
    name text not null,
    content_type text not null default 'application/octet-stream',
    size_bytes bigint not null,
    storage_key text not null,
    uploaded_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint lead_files_storage_key_key unique (storage_key),
    constraint lead_files_size_check check (size_bytes >= 0)
);
create trigger lead_files_updated_at before update on lead_files for each row execute function set_updated_at();
create index lead_files_lead_idx on lead_files (lead_id, created_at);
