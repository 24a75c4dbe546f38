-- Lead capture from websites (issue «Integrations»): a public endpoint per
-- form key drops leads into the unsorted inbox. Every consent text a form
-- has shown is kept by version (152-FZ: what the person agreed to), and
-- every submission with its address, UTM tags and outcome (the per-address
-- rate limit counts these rows).

create table web_forms (
    id uuid primary key default gen_random_uuid(),
    -- The public part of the address: /api/v1/forms/{key}.
    key text not null,
    name text not null,
    source_id uuid references dictionary_items (id),
    product_id uuid references dictionary_items (id),
    -- Sites allowed to post from a browser script (CORS), as origins
    -- ("https://example.ru"); a plain HTML form posts from anywhere.
    allowed_origins text[] not null default '{}',
    consent_text text not null,
    consent_version integer not null default 1,
    -- Where a plain HTML form's visitor goes after sending; empty: our own
    -- thank-you page.
    success_url text not null default '',
    per_ip_hourly integer not null default 20,
    enabled boolean not null default true,
    -- Leads are created in this person's name (into the unsorted inbox).
    owner_id uuid not null references users (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint web_forms_key_key unique (key),
    constraint web_forms_rate_check check (per_ip_hourly between 1 and 10000),
    constraint web_forms_version_check check (consent_version >= 1)
);
create trigger web_forms_updated_at before update on web_forms for each row execute function set_updated_at();

create table web_form_consents (
    form_id uuid not null references web_forms (id) on delete cascade,
    version integer not null,
    text text not null,
    created_at timestamptz not null default now(),
    primary key (form_id, version)
);

create table web_form_submissions (
    id bigserial primary key,
    form_id uuid not null references web_forms (id) on delete cascade,
    lead_id uuid references leads (id) on delete set null,
    -- created: a new client; attached: a known client's new lead; review: a
    -- possible duplicate for HQ; spam: the honeypot was filled; refused:
    -- the data did not pass (the fields in `errors`).
    outcome text not null,
    ip inet,
    utm jsonb not null default '{}'::jsonb,
    page_url text not null default '',
    consent_version integer,
    errors jsonb,
    created_at timestamptz not null default now(),
    constraint web_form_submissions_outcome_check
        check (outcome in ('created', 'attached', 'review', 'spam', 'refused'))
);
create index web_form_submissions_ip_idx on web_form_submissions (form_id, ip, created_at desc);
create index web_form_submissions_form_idx on web_form_submissions (form_id, created_at desc);
