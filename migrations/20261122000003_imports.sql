-- CSV/XLSX import of leads: the uploaded file lives in PostgreSQL (any
-- instance's worker can process it), progress is checkpointed per batch.

create table import_jobs (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id) on delete cascade,
    file_name text not null,
    file_kind text not null,
    size_bytes bigint not null default 0,
    status text not null default 'uploaded',
    encoding text,
    delimiter text,
    sheet text,
    mapping jsonb not null default '{}'::jsonb,
    on_duplicate text not null default 'skip',
    estimated_rows bigint,
    processed_rows bigint not null default 0,
    created_count bigint not null default 0,
    updated_count bigint not null default 0,
    skipped_count bigint not null default 0,
    failed_count bigint not null default 0,
    error text,
    cancel_requested boolean not null default false,
    locked_until timestamptz,
    started_at timestamptz,
    finished_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint import_jobs_status_check check (status in ('uploaded', 'queued', 'running', 'done', 'failed', 'cancelled')),
    constraint import_jobs_kind_check check (file_kind in ('csv', 'xlsx')),
    constraint import_jobs_on_duplicate_check check (on_duplicate in ('skip', 'update', 'create'))
);
create trigger import_jobs_updated_at before update on import_jobs for each row execute function set_updated_at();
create index import_jobs_queue_idx on import_jobs (created_at) where status in ('queued', 'running');

create table import_chunks (
    job_id uuid not null references import_jobs (id) on delete cascade,
    seq integer not null,
    data bytea not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint import_chunks_pkey primary key (job_id, seq)
);

create table import_report_rows (
    job_id uuid not null references import_jobs (id) on delete cascade,
    row_number bigint not null,
    outcome text not null,
    reason text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint import_report_rows_pkey primary key (job_id, row_number),
    constraint import_report_rows_outcome_check check (outcome in ('failed', 'skipped'))
);

create table import_mappings (
    header_key text primary key,
    mapping jsonb not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger import_mappings_updated_at before update on import_mappings for each row execute function set_updated_at();

alter table leads add column import_job_id uuid references import_jobs (id) on delete set null;
