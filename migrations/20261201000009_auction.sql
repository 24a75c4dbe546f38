-- The lead auction: franchisee companies with ledger balances, lots (a
-- masked copy of the lead), bids, returns, and the policy HQ sets.
--
-- Money rules live here, not only in code: a franchisee's money sits in two
-- ledger accounts of its company (team) — `franchisee_available` and
-- `franchisee_held` —, both of which the ledger keeps at zero or above, so
-- "available" and "held" can never go negative whatever the concurrency; the
-- balance is their sum. A lot is sold or released exactly once: its state
-- moves only from 'open', and every ledger transfer carries an idempotency
-- key naming the fact (hold of bid N, capture of lot L, refund of return R).

-- Ledger accounts may belong to a team (a franchisee company).
alter table ledger_accounts add column team_id uuid references teams (id);
drop index ledger_accounts_kind_owner_key;
create unique index ledger_accounts_kind_owner_key on ledger_accounts (
    kind,
    coalesce(owner_id, '00000000-0000-0000-0000-000000000000'),
    coalesce(team_id, '00000000-0000-0000-0000-000000000000')
);
-- What a transfer was about (a lot, a return, a deposit's document).
alter table ledger_transfers add column ref text not null default '';

-- A franchisee company: a team, with what it buys and its limits.
create table franchisees (
    team_id uuid primary key references teams (id) on delete cascade,
    -- Who gets the leads the company buys (owner and responsible).
    responsible_id uuid references users (id) on delete set null,
    daily_spend_cap_kopecks bigint,
    daily_lots_cap integer,
    -- Regions (cities) and products it buys; empty: any.
    regions text[] not null default '{}',
    product_ids uuid[] not null default '{}',
    -- Round-robin order of redistribution: the longest-waiting goes first.
    last_assigned_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint franchisees_spend_cap_check check (daily_spend_cap_kopecks is null or daily_spend_cap_kopecks > 0),
    constraint franchisees_lots_cap_check check (daily_lots_cap is null or daily_lots_cap > 0)
);
create trigger franchisees_updated_at before update on franchisees for each row execute function set_updated_at();

-- Every approved franchisee's team is a company already.
insert into franchisees (team_id, responsible_id)
select distinct on (u.team_id) u.team_id, u.id from users u
where u.role = 'franchisee' and u.team_id is not null
order by u.team_id, u.created_at
on conflict do nothing;

-- The auction's policy (one row).
create table auction_settings (
    id boolean primary key default true,
    soft_close_minutes integer not null default 2,
    default_duration_minutes integer not null default 60,
    relist_times integer not null default 2,
    relist_discount_percent integer not null default 20,
    -- After the last re-listing: 'round_robin' among franchisees that buy
    -- the region and product, or 'call_centre' (back to HQ).
    after_relisting text not null default 'round_robin',
    return_window_hours integer not null default 72,
    updated_at timestamptz not null default now(),
    constraint auction_settings_one check (id),
    constraint auction_settings_soft_close check (soft_close_minutes between 0 and 60),
    constraint auction_settings_duration check (default_duration_minutes between 1 and 43200),
    constraint auction_settings_relist check (relist_times between 0 and 10),
    constraint auction_settings_discount check (relist_discount_percent between 0 and 90),
    constraint auction_settings_after check (after_relisting in ('round_robin', 'call_centre')),
    constraint auction_settings_window check (return_window_hours between 0 and 720)
);
insert into auction_settings default values;

-- Extra fields HQ shows on a lot before it is sold.
alter table custom_fields add column public_on_lots boolean not null default false;

insert into dictionary_items (kind, name, position) values ('status', 'Куплен', 6)
on conflict (kind, name) do nothing;

create table lots (
    id uuid primary key default gen_random_uuid(),
    number bigserial not null,
    lead_id uuid not null references leads (id),
    state text not null default 'open',
    start_price_kopecks bigint not null,
    step_kopecks bigint not null,
    buy_now_kopecks bigint,
    reserve_kopecks bigint,
    -- The leading bid (or the start price while there is none).
    price_kopecks bigint not null,
    leader_team_id uuid references teams (id),
    leader_bid_id bigint,
    bids_count integer not null default 0,
    starts_at timestamptz not null default now(),
    ends_at timestamptz not null,
    -- Regions whose franchisees may bid; empty: every region.
    regions text[] not null default '{}',
    -- 1 for the first listing, 2 for the first re-listing…
    round integer not null default 1,
    -- The masked copy shown before the sale: no name, phone or email in
    -- full anywhere in this table.
    product_id uuid references dictionary_items (id),
    product text,
    lead_amount_kopecks bigint,
    city text,
    source text,
    lead_created_at timestamptz not null,
    masked_name text not null,
    masked_phone text,
    public_extra jsonb not null default '{}'::jsonb,
    -- The lead's status before it went up, restored when the lot is cancelled.
    prev_status_id uuid references dictionary_items (id),
    closed_at timestamptz,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint lots_number_key unique (number),
    constraint lots_state_check check (state in ('open', 'sold', 'unsold', 'cancelled')),
    constraint lots_prices_check check (
        start_price_kopecks > 0 and step_kopecks > 0 and price_kopecks > 0
        and (buy_now_kopecks is null or buy_now_kopecks >= start_price_kopecks)
        and (reserve_kopecks is null or reserve_kopecks > 0)
    ),
    constraint lots_leader_check check ((leader_team_id is null) = (leader_bid_id is null)),
    constraint lots_sold_check check (state <> 'sold' or leader_team_id is not null),
    constraint lots_closed_check check ((state = 'open') = (closed_at is null)),
    constraint lots_window_check check (ends_at > starts_at)
);
create trigger lots_updated_at before update on lots for each row execute function set_updated_at();
-- A lead is on one open lot at most.
create unique index lots_open_lead_key on lots (lead_id) where state = 'open';
create index lots_due_idx on lots (ends_at) where state = 'open';
create index lots_lead_idx on lots (lead_id, created_at desc);
create index lots_state_idx on lots (state, closed_at desc);
create index lots_leader_idx on lots (leader_team_id, state);

create table bids (
    id bigserial primary key,
    lot_id uuid not null references lots (id),
    team_id uuid not null references teams (id),
    user_id uuid references users (id) on delete set null,
    amount_kopecks bigint not null,
    buy_now boolean not null default false,
    created_at timestamptz not null default now(),
    constraint bids_amount_check check (amount_kopecks > 0)
);
create index bids_lot_idx on bids (lot_id, id);
create index bids_team_idx on bids (team_id, id desc);
alter table lots add constraint lots_leader_bid_fkey foreign key (leader_bid_id) references bids (id);

-- A lot's history only goes up: each bid is above every earlier one.
create function bids_increase() returns trigger
language plpgsql as $$
begin
    if exists (select 1 from bids where lot_id = new.lot_id and id <> new.id and amount_kopecks >= new.amount_kopecks) then
        raise exception 'a bid must be above every earlier bid of the lot'
            using errcode = '23514', constraint = 'bids_increase';
    end if;
    return null;
end
$$;
create constraint trigger bids_increase after insert on bids
    for each row execute function bids_increase();

create table lead_returns (
    id uuid primary key default gen_random_uuid(),
    number bigserial not null,
    lot_id uuid not null references lots (id),
    lead_id uuid not null references leads (id),
    team_id uuid not null references teams (id),
    amount_kopecks bigint not null,
    reason text not null,
    comment text not null default '',
    file_id uuid references lead_files (id) on delete set null,
    state text not null default 'pending',
    decision_comment text not null default '',
    requested_by uuid references users (id) on delete set null,
    decided_by uuid references users (id) on delete set null,
    decided_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint lead_returns_number_key unique (number),
    constraint lead_returns_reason_check check (reason in
        ('wrong_number', 'not_reachable', 'duplicate', 'not_target', 'did_not_ask', 'other')),
    constraint lead_returns_state_check check (state in ('pending', 'approved', 'rejected')),
    constraint lead_returns_other_check check (reason <> 'other' or length(trim(comment)) > 0),
    constraint lead_returns_decided_check check ((state = 'pending') = (decided_at is null))
);
create trigger lead_returns_updated_at before update on lead_returns for each row execute function set_updated_at();
-- One return per sale that is waiting or granted.
create unique index lead_returns_lot_key on lead_returns (lot_id) where state <> 'rejected';
create index lead_returns_state_idx on lead_returns (state, created_at desc);
create index lead_returns_team_idx on lead_returns (team_id, created_at desc);

-- Franchisees see and bid for their company (the team), not only for
-- themselves.
update permissions set scope = 'team'
where role = 'franchisee' and resource = 'auction' and action in ('view', 'bid');

-- HQ runs the auction; it doesn't buy leads (bidding needs a company).
update permissions set scope = 'none' where role = 'admin' and resource = 'auction' and action = 'bid';

-- Rules that put arriving leads up by themselves (e.g. every lead from
-- source X in city Y). A lead is put up once: a lead that has ever been on
-- a lot, or is someone's already, is left alone.
create table auction_rules (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    source_id uuid references dictionary_items (id) on delete cascade,
    product_id uuid references dictionary_items (id) on delete cascade,
    city text,
    start_price_kopecks bigint not null,
    step_kopecks bigint not null,
    buy_now_kopecks bigint,
    duration_minutes integer not null default 60,
    active boolean not null default true,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint auction_rules_prices check (start_price_kopecks > 0 and step_kopecks > 0
        and (buy_now_kopecks is null or buy_now_kopecks >= start_price_kopecks)),
    constraint auction_rules_duration check (duration_minutes between 1 and 43200)
);
create trigger auction_rules_updated_at before update on auction_rules for each row execute function set_updated_at();
