-- Contracts: the partner's and the franchisee's agreement with the
-- company (generated from a template when they are approved, reissued by
-- HQ after the card changes) and a franchisee's contracts with its
-- clients (generated or uploaded). The PDF is a document like an act's;
-- a reissue is a new contract that replaces the one in force.

-- A client's documents (contracts and other files) are documents too:
-- scoped by the client rather than by a company card.
alter table documents add column client_id uuid references clients (id) on delete restrict;
create index documents_client_idx on documents (client_id, created_at desc) where client_id is not null;

create table contracts (
    id uuid primary key default gen_random_uuid(),
    kind text not null,
    -- The partner's or office's card; for a client contract, the executor's
    -- (the office's card, or HQ's when the client is HQ's own).
    card_id uuid not null references company_cards (id) on delete restrict,
    client_id uuid references clients (id) on delete restrict,
    -- Our per-year number; an uploaded contract keeps the number it bears
    -- in its title and has none here.
    year integer,
    number integer,
    signed_on date not null,
    title text not null,
    document_id uuid not null references documents (id) on delete restrict,
    template_version integer,
    replaces_id uuid references contracts (id) on delete restrict,
    superseded boolean not null default false,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    constraint contracts_kind_check check (kind in ('partner', 'franchisee', 'client')),
    constraint contracts_client_check check ((kind = 'client') = (client_id is not null)),
    constraint contracts_number_check check ((year is null) = (number is null)),
    constraint contracts_number_key unique (year, number),
    constraint contracts_document_key unique (document_id)
);
-- One agreement in force per partner or office.
create unique index contracts_one_agreement on contracts (card_id)
    where kind in ('partner', 'franchisee') and not superseded;
create index contracts_client_idx on contracts (client_id, created_at desc) where client_id is not null;

-- Agreements the worker could not generate (say, S3 was down): tried again
-- after a pause instead of blocking the others.
create table agreement_failures (
    card_id uuid primary key references company_cards (id) on delete cascade,
    attempts integer not null default 1,
    last_error text not null,
    retry_at timestamptz not null
);
