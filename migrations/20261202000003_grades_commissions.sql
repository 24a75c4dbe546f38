-- Grades of partners and the commission table, and the first half of
-- settlements: HQ records a won deal's loan issue, which accrues the
-- partner's commission (and their referrers' shares) on the ledger.

create table grades (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    -- 1 is the lowest; a partner gets the highest grade whose thresholds
    -- their results over the policy's period meet.
    position integer not null,
    min_volume_kopecks bigint,
    min_deals integer,
    -- Both thresholds must be met ('all') or either ('any').
    combine text not null default 'all',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint grades_name_key unique (name),
    constraint grades_position_key unique (position) deferrable initially deferred,
    constraint grades_position_check check (position > 0),
    constraint grades_volume_check check (min_volume_kopecks is null or min_volume_kopecks >= 0),
    constraint grades_deals_check check (min_deals is null or min_deals >= 0),
    constraint grades_combine_check check (combine in ('all', 'any'))
);
create trigger grades_updated_at before update on grades for each row execute function set_updated_at();

insert into grades (name, position, min_volume_kopecks, min_deals) values
    ('Старт', 1, null, null),
    ('Серебро', 2, 300000000, 3),
    ('Золото', 3, 1000000000, 10),
    ('Платина', 4, 3000000000, 25);

-- One row: the period results are measured over, and the referrers' shares
-- (in hundredths of a percent of the referral's commission).
create table grade_policy (
    id boolean primary key default true,
    period_months integer not null default 3,
    level1_share_bp integer not null default 1000,
    level2_share_bp integer not null default 500,
    updated_at timestamptz not null default now(),
    constraint grade_policy_one_row check (id),
    constraint grade_policy_period_check check (period_months between 1 and 24),
    constraint grade_policy_shares_check check (level1_share_bp between 0 and 10000 and level2_share_bp between 0 and 10000)
);
insert into grade_policy default values;
create trigger grade_policy_updated_at before update on grade_policy for each row execute function set_updated_at();

-- Commission per grade and product: a percent of the issued amount (in
-- hundredths of a percent), with an optional minimum and maximum per deal.
create table commission_rates (
    grade_id uuid not null references grades (id) on delete cascade,
    product_id uuid not null references dictionary_items (id) on delete cascade,
    percent_bp integer not null,
    min_kopecks bigint,
    max_kopecks bigint,
    updated_at timestamptz not null default now(),
    primary key (grade_id, product_id),
    constraint commission_rates_percent_check check (percent_bp between 0 and 10000),
    constraint commission_rates_bounds_check check (
        (min_kopecks is null or min_kopecks >= 0) and (max_kopecks is null or max_kopecks >= 0)
        and (min_kopecks is null or max_kopecks is null or min_kopecks <= max_kopecks))
);
insert into commission_rates (grade_id, product_id, percent_bp)
select g.id, p.id, case g.position when 1 then 50 when 2 then 75 when 3 then 100 else 125 end
from grades g cross join dictionary_items p where p.kind = 'product';

alter table company_cards add column grade_id uuid references grades (id);
update company_cards set grade_id = (select id from grades order by position limit 1) where kind = 'partner';

-- New partners start at the lowest grade.
create or replace function open_partner_card() returns trigger
language plpgsql as $$
begin
    if new.role = 'partner' then
        insert into company_cards (public_id, kind, user_id, legal_form, name, inn, contact_phone, contact_email, grade_id)
        values (company_public_id('partner'), 'partner', new.id, coalesce(new.legal_form, 'individual'),
                coalesce(nullif(new.company_name, ''), new.full_name),
                case when new.inn ~ '^([0-9]{10}|[0-9]{12})$' then new.inn end, new.phone, new.email,
                (select id from grades order by position limit 1))
        on conflict (user_id) do nothing;
    end if;
    return null;
end
$$;

create table grade_changes (
    id bigserial primary key,
    card_id uuid not null references company_cards (id) on delete cascade,
    from_grade_id uuid references grades (id) on delete set null,
    to_grade_id uuid references grades (id) on delete set null,
    reason text not null,
    volume_kopecks bigint not null,
    deals integer not null,
    changed_by uuid references users (id) on delete set null,
    at timestamptz not null default now()
);
create index grade_changes_card_idx on grade_changes (card_id, at desc);

-- The monthly recomputation runs once per month across instances and
-- restarts: its row is inserted in the same transaction as the grades.
create table grade_runs (
    month date primary key,
    ran_at timestamptz not null default now()
);

-- A won deal's loan issue, recorded by HQ; once per lead.
create table deal_issues (
    lead_id uuid primary key references leads (id) on delete cascade,
    issued_on date not null,
    bank text not null,
    amount_kopecks bigint not null,
    recorded_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    constraint deal_issues_amount_check check (amount_kopecks > 0)
);
create index deal_issues_issued_idx on deal_issues (issued_on);

-- What a partner earned: level 0 on their own deal, 1 and 2 as referrers.
-- One row per lead and level, so an issue can't accrue twice.
create table accruals (
    id uuid primary key default gen_random_uuid(),
    card_id uuid not null references company_cards (id),
    lead_id uuid not null references leads (id) on delete cascade,
    level smallint not null,
    grade_id uuid references grades (id) on delete set null,
    product_id uuid references dictionary_items (id) on delete set null,
    base_kopecks bigint not null,
    percent_bp integer not null,
    amount_kopecks bigint not null,
    -- The settlement month: the first day of the issue's month.
    period date not null,
    state text not null default 'accrued',
    created_at timestamptz not null default now(),
    constraint accruals_lead_level_key unique (lead_id, level),
    constraint accruals_level_check check (level in (0, 1, 2)),
    constraint accruals_amount_check check (amount_kopecks >= 0 and base_kopecks >= 0),
    constraint accruals_state_check check (state in ('accrued', 'act_issued', 'signed', 'paid'))
);
create index accruals_card_period_idx on accruals (card_id, period);
