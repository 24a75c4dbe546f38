-- Settlements with partners: monthly periods of accruals, the acts issued
-- for them (PDF in S3 with its SHA-256, numbered per year, immutable), the
-- signed scans and the payments. Also the company's own card (the other
-- party of every act) and the admin-editable document templates.

-- HQ's own requisites live in a card of their own kind: one row.
alter table company_cards drop constraint company_cards_kind_check;
alter table company_cards add constraint company_cards_kind_check check (
    (kind = 'partner' and user_id is not null and team_id is null)
    or (kind = 'franchisee' and team_id is not null and user_id is null)
    or (kind = 'hq' and user_id is null and team_id is null));
create unique index company_cards_one_hq on company_cards (kind) where kind = 'hq';
insert into company_cards (public_id, kind, legal_form, name, tax_regime)
values ('HQ', 'hq', 'ooo', 'ООО «МаК»', 'usn');

-- Generated and uploaded documents. The bytes are in S3 under
-- `storage_key`; a row never changes once written (a correction is a new
-- document), which the trigger below holds to.
create table documents (
    id uuid primary key default gen_random_uuid(),
    kind text not null,
    card_id uuid references company_cards (id) on delete restrict,
    title text not null,
    file_name text not null,
    content_type text not null,
    size_bytes bigint not null,
    sha256 text not null,
    storage_key text not null,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    constraint documents_key_unique unique (storage_key),
    constraint documents_kind_check check (kind in ('act', 'signed_act', 'contract', 'signed_contract', 'upload')),
    constraint documents_sha_check check (sha256 ~ '^[0-9a-f]{64}$'),
    constraint documents_size_check check (size_bytes > 0)
);
create index documents_card_idx on documents (card_id, created_at desc);

create function documents_immutable() returns trigger
language plpgsql as $$
begin
    raise exception 'documents are immutable' using errcode = 'check_violation';
end
$$;
create trigger documents_no_update before update on documents
    for each row execute function documents_immutable();

-- Templates: Typst markup edited by admins; every act records the version
-- it was rendered from.
create table document_templates (
    kind text primary key,
    body text not null,
    version integer not null default 1,
    updated_by uuid references users (id) on delete set null,
    updated_at timestamptz not null default now(),
    constraint document_templates_kind_check check (kind in ('act', 'partner_contract', 'franchisee_contract', 'client_contract'))
);

-- Per-year numbering of documents of a kind: gapless, because the counter
-- moves in the transaction that writes the document.
create table document_numbers (
    kind text not null,
    year integer not null,
    last integer not null,
    primary key (kind, year)
);

-- One period per partner card and month, opened by the first accrual.
create table settlements (
    id uuid primary key default gen_random_uuid(),
    card_id uuid not null references company_cards (id) on delete restrict,
    period date not null,
    created_at timestamptz not null default now(),
    constraint settlements_card_period_key unique (card_id, period),
    constraint settlements_period_check check (extract(day from period) = 1)
);
create index settlements_period_idx on settlements (period desc);

create table acts (
    id uuid primary key default gen_random_uuid(),
    settlement_id uuid not null references settlements (id) on delete restrict,
    year integer not null,
    number integer not null,
    issued_on date not null,
    total_kopecks bigint not null,
    vat_kopecks bigint not null default 0,
    document_id uuid not null references documents (id) on delete restrict,
    template_version integer not null,
    -- A correction replaces the act it names; the replaced one is kept.
    replaces_id uuid references acts (id) on delete restrict,
    superseded boolean not null default false,
    signed_document_id uuid references documents (id) on delete restrict,
    signed_at timestamptz,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    constraint acts_number_key unique (year, number),
    constraint acts_total_check check (total_kopecks > 0 and vat_kopecks >= 0 and vat_kopecks <= total_kopecks)
);
-- At most one act in force per period.
create unique index acts_one_current on acts (settlement_id) where not superseded;

alter table accruals add column settlement_id uuid references settlements (id) on delete restrict;
alter table accruals add column act_id uuid references acts (id) on delete restrict;
create index accruals_settlement_idx on accruals (settlement_id);

-- Existing accruals join their periods.
insert into settlements (card_id, period)
select distinct card_id, period from accruals on conflict do nothing;
update accruals a set settlement_id = s.id from settlements s where s.card_id = a.card_id and s.period = a.period;

-- Payments of a period, possibly several (partial); `key` makes a retried
-- submission record nothing twice.
create table settlement_payments (
    id uuid primary key default gen_random_uuid(),
    settlement_id uuid not null references settlements (id) on delete restrict,
    act_id uuid not null references acts (id) on delete restrict,
    paid_on date not null,
    amount_kopecks bigint not null,
    key text not null,
    recorded_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    constraint settlement_payments_key unique (key),
    constraint settlement_payments_amount_check check (amount_kopecks > 0)
);
create index settlement_payments_settlement_idx on settlement_payments (settlement_id);

-- Every accrual joins its card's period (opened by the first one).
create function accrual_settlement() returns trigger
language plpgsql as $$
begin
    insert into settlements (card_id, period) values (new.card_id, new.period) on conflict do nothing;
    select id into new.settlement_id from settlements where card_id = new.card_id and period = new.period;
    return new;
end
$$;
create trigger accruals_settlement before insert on accruals
    for each row execute function accrual_settlement();
alter table accruals alter column settlement_id set not null;
