-- The company card of every partner (one per partner user) and every
-- franchisee office (one per franchisee team): legal form, requisites, bank,
-- signatory. Acts and contracts are generated from it, so it exists from the
-- moment the partner or the office does, whatever made them (approval,
-- invitation, the command line, demo data): triggers open it, and existing
-- partners and offices get theirs here, filled from their registration.

create sequence company_public_no;

create table company_cards (
    id uuid primary key default gen_random_uuid(),
    -- P-000123 (partner) or F-000045 (franchisee office): shown to people and
    -- printed on documents; never reused.
    public_id text not null,
    kind text not null,
    user_id uuid references users (id) on delete cascade,
    team_id uuid references teams (id) on delete cascade,
    legal_form text not null default 'individual',
    name text not null default '',
    inn text,
    ogrn text,
    kpp text,
    legal_address text not null default '',
    postal_address text not null default '',
    bank_name text not null default '',
    bik text,
    settlement_account text,
    correspondent_account text,
    signatory text not null default '',
    signatory_basis text not null default 'charter',
    -- The power of attorney's number and date when the signatory acts by one.
    attorney text not null default '',
    tax_regime text not null default 'none',
    contact_phone text,
    contact_email text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint company_cards_public_id_key unique (public_id),
    constraint company_cards_user_key unique (user_id),
    constraint company_cards_team_key unique (team_id),
    constraint company_cards_kind_check check (
        (kind = 'partner' and user_id is not null and team_id is null)
        or (kind = 'franchisee' and team_id is not null and user_id is null)),
    constraint company_cards_legal_form_check check (legal_form in ('ip', 'ooo', 'self_employed', 'individual')),
    constraint company_cards_basis_check check (signatory_basis in ('charter', 'power_of_attorney')),
    constraint company_cards_tax_check check (tax_regime in ('vat', 'usn', 'npd', 'none')),
    constraint company_cards_inn_check check (inn is null or inn ~ '^([0-9]{10}|[0-9]{12})$'),
    constraint company_cards_bik_check check (bik is null or bik ~ '^[0-9]{9}$'),
    constraint company_cards_accounts_check check (
        (settlement_account is null or settlement_account ~ '^[0-9]{20}$')
        and (correspondent_account is null or correspondent_account ~ '^[0-9]{20}$'))
);
create trigger company_cards_updated_at before update on company_cards for each row execute function set_updated_at();
create index company_cards_name_idx on company_cards (lower(name));

create function company_public_id(kind text) returns text
language sql as $$
    select case kind when 'partner' then 'P-' else 'F-' end || lpad(nextval('company_public_no')::text, 6, '0')
$$;

-- A partner's card, from what they gave at registration.
create function open_partner_card() returns trigger
language plpgsql as $$
begin
    if new.role = 'partner' then
        insert into company_cards (public_id, kind, user_id, legal_form, name, inn, contact_phone, contact_email)
        values (company_public_id('partner'), 'partner', new.id, coalesce(new.legal_form, 'individual'),
                coalesce(nullif(new.company_name, ''), new.full_name),
                case when new.inn ~ '^([0-9]{10}|[0-9]{12})$' then new.inn end, new.phone, new.email)
        on conflict (user_id) do nothing;
    end if;
    return null;
end
$$;
create trigger users_open_partner_card
    after insert or update of role on users
    for each row execute function open_partner_card();

-- An office's card, from its team and the person it was opened for.
create function open_franchisee_card() returns trigger
language plpgsql as $$
begin
    insert into company_cards (public_id, kind, team_id, legal_form, name, inn, contact_phone, contact_email)
    select company_public_id('franchisee'), 'franchisee', new.team_id, coalesce(u.legal_form, 'ooo'),
           coalesce(nullif(u.company_name, ''), t.name),
           case when u.inn ~ '^([0-9]{10}|[0-9]{12})$' then u.inn end, u.phone, u.email
    from teams t left join users u on u.id = new.responsible_id
    where t.id = new.team_id
    on conflict (team_id) do nothing;
    return null;
end
$$;
create trigger franchisees_open_card
    after insert on franchisees
    for each row execute function open_franchisee_card();

insert into company_cards (public_id, kind, user_id, legal_form, name, inn, contact_phone, contact_email)
select company_public_id('partner'), 'partner', u.id, coalesce(u.legal_form, 'individual'),
       coalesce(nullif(u.company_name, ''), u.full_name),
       case when u.inn ~ '^([0-9]{10}|[0-9]{12})$' then u.inn end, u.phone, u.email
from users u where u.role = 'partner' order by u.created_at;

insert into company_cards (public_id, kind, team_id, legal_form, name, inn, contact_phone, contact_email)
select company_public_id('franchisee'), 'franchisee', f.team_id, coalesce(u.legal_form, 'ooo'),
       coalesce(nullif(u.company_name, ''), t.name),
       case when u.inn ~ '^([0-9]{10}|[0-9]{12})$' then u.inn end, u.phone, u.email
from franchisees f join teams t on t.id = f.team_id left join users u on u.id = f.responsible_id
order by f.created_at;
