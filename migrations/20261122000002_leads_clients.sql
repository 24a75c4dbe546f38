-- Leads and clients: dictionaries, pipelines with stages, clients with phones and
-- emails (normalised), leads, comments, tasks, saved views, a durable job queue.

create extension if not exists pg_trgm;

create table dictionary_items (
    id uuid primary key default gen_random_uuid(),
    kind text not null,
    name text not null,
    position integer not null default 0,
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint dictionary_items_kind_check check (kind in ('product', 'source', 'method', 'status', 'loss_reason')),
    constraint dictionary_items_kind_name_key unique (kind, name)
);
create trigger dictionary_items_updated_at before update on dictionary_items for each row execute function set_updated_at();

insert into dictionary_items (kind, name, position) values
    ('product', 'Ипотека', 1), ('product', 'Автокредит', 2), ('product', 'Потребительский кредит', 3),
    ('product', 'Рефинансирование', 4), ('product', 'Кредит для бизнеса', 5), ('product', 'Кредит под залог', 6),
    ('source', 'Партнёр', 1), ('source', 'Лидогенерация', 2), ('source', 'Холодная база', 3),
    ('source', 'Внешний источник', 4), ('source', 'Купленная база', 5),
    ('method', 'Свой колл-центр', 1), ('method', 'Франчайзи', 2), ('method', 'Партнёр', 3), ('method', 'Аукцион', 4),
    ('status', 'Новый', 1), ('status', 'От партнёра', 2), ('status', 'Аукцион', 3), ('status', 'Не выкуплен', 4), ('status', 'В работе', 5),
    ('loss_reason', 'Отказ банка', 1), ('loss_reason', 'Передумал', 2), ('loss_reason', 'Не дозвонились', 3);

create table pipelines (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    position integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger pipelines_updated_at before update on pipelines for each row execute function set_updated_at();

create table stages (
    id uuid primary key default gen_random_uuid(),
    pipeline_id uuid not null references pipelines (id) on delete cascade,
    name text not null,
    color text not null default '#1f6feb',
    kind text not null default 'open',
    position integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint stages_kind_check check (kind in ('open', 'won', 'lost'))
);
create trigger stages_updated_at before update on stages for each row execute function set_updated_at();
create index stages_pipeline_idx on stages (pipeline_id, position);

create table clients (
    id uuid primary key default gen_random_uuid(),
    full_name text not null,
    city text,
    notes text not null default '',
    owner_id uuid references users (id) on delete set null,
    team_id uuid references teams (id) on delete set null,
    consent_at timestamptz,
    consent_method text,
    consent_text_version text,
    merged_into uuid references clients (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger clients_updated_at before update on clients for each row execute function set_updated_at();
create index clients_owner_idx on clients (owner_id);
create index clients_name_trgm_idx on clients using gin (lower(full_name) gin_trgm_ops);

create table client_phones (
    client_id uuid not null references clients (id) on delete cascade,
    phone text not null,
    position integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint client_phones_pkey primary key (client_id, phone)
);
create index client_phones_phone_idx on client_phones (phone);
-- Quick search finds a phone by any run of its digits.
create index client_phones_phone_trgm_idx on client_phones using gin (phone gin_trgm_ops);

create table client_emails (
    client_id uuid not null references clients (id) on delete cascade,
    email text not null,
    position integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint client_emails_pkey primary key (client_id, email),
    constraint client_emails_lower_check check (email = lower(email))
);
create index client_emails_email_idx on client_emails (email);

create table leads (
    id uuid primary key default gen_random_uuid(),
    number bigserial not null,
    client_id uuid not null references clients (id),
    product_id uuid references dictionary_items (id),
    amount_kopecks bigint,
    source_id uuid references dictionary_items (id),
    method_id uuid references dictionary_items (id),
    status_id uuid references dictionary_items (id),
    pipeline_id uuid references pipelines (id),
    stage_id uuid references stages (id),
    unsorted boolean not null default false,
    responsible_id uuid references users (id) on delete set null,
    partner_id uuid references users (id) on delete set null,
    franchisee_id uuid references users (id) on delete set null,
    team_id uuid references teams (id) on delete set null,
    created_by uuid references users (id) on delete set null,
    tags text[] not null default '{}',
    extra jsonb not null default '{}'::jsonb,
    comment text not null default '',
    loss_reason_id uuid references dictionary_items (id),
    closed_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint leads_number_key unique (number),
    constraint leads_amount_check check (amount_kopecks is null or amount_kopecks >= 0)
);
create trigger leads_updated_at before update on leads for each row execute function set_updated_at();
create index leads_client_idx on leads (client_id);
create index leads_stage_idx on leads (stage_id, updated_at desc);
create index leads_stage_created_idx on leads (stage_id, created_at desc, id desc);
create index leads_stage_amount_idx on leads (stage_id, amount_kopecks desc nulls last, id desc);
create index leads_amount_idx on leads (amount_kopecks desc nulls last, id desc);
create index leads_updated_idx on leads (updated_at desc, id desc);
create index leads_created_idx on leads (created_at desc, id desc);
create index leads_partner_idx on leads (partner_id, created_at desc);
create index leads_franchisee_idx on leads (franchisee_id, created_at desc);
create index leads_responsible_idx on leads (responsible_id, created_at desc);
create index leads_tags_idx on leads using gin (tags);
create index leads_extra_idx on leads using gin (extra jsonb_path_ops);
create index leads_unsorted_idx on leads (created_at desc) where unsorted;

create table lead_comments (
    id uuid primary key default gen_random_uuid(),
    lead_id uuid not null references leads (id) on delete cascade,
    author_id uuid references users (id) on delete set null,
    body text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger lead_comments_updated_at before update on lead_comments for each row execute function set_updated_at();
create index lead_comments_lead_idx on lead_comments (lead_id, created_at);

create table tasks (
    id uuid primary key default gen_random_uuid(),
    lead_id uuid references leads (id) on delete cascade,
    client_id uuid references clients (id) on delete cascade,
    text text not null,
    due_at timestamptz not null,
    assignee_id uuid not null references users (id) on delete cascade,
    created_by uuid references users (id) on delete set null,
    done_at timestamptz,
    reminded_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger tasks_updated_at before update on tasks for each row execute function set_updated_at();
create index tasks_assignee_idx on tasks (assignee_id, due_at) where done_at is null;
create index tasks_due_idx on tasks (due_at) where reminded_at is null and done_at is null;

-- The default pipeline.
with p as (insert into pipelines (name, position) values ('Основная воронка', 0) returning id)
insert into stages (pipeline_id, name, color, kind, position)
select p.id, s.name, s.color, s.kind, s.position from p, (values
    ('Новая заявка', '#1f6feb', 'open', 0),
    ('Консультация', '#8250df', 'open', 1),
    ('Сбор документов', '#bf8700', 'open', 2),
    ('Одобрено банком', '#1a7f37', 'open', 3),
    ('Сделка', '#2da44e', 'won', 4),
    ('Отказ', '#cf222e', 'lost', 5)
) as s (name, color, kind, position);

-- Franchisees are regional offices: each gets a team on approval.
