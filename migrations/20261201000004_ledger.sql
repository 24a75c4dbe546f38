-- The money ledger, for the auction's balances, partners' commissions and
-- AI credits: double entry (every transfer's entries sum to zero, checked at
-- commit), one idempotency key per transfer (a retried request can't pay
-- twice), and balances that can't go below zero unless the account allows it
-- (checked on the row). `balance_kopecks` is the sum of the account's
-- entries, kept in the same statement as each entry.
create table ledger_accounts (
    id uuid primary key default gen_random_uuid(),
    -- What the account is for: 'franchisee_balance', 'partner_commission',
    -- 'ai_credits', or an account of the company ('company_revenue',
    -- 'payments_in', 'payouts') that may go negative.
    kind text not null,
    owner_id uuid references users (id),
    allow_negative boolean not null default false,
    balance_kopecks bigint not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint ledger_accounts_balance_check check (allow_negative or balance_kopecks >= 0)
);
create unique index ledger_accounts_kind_owner_key on ledger_accounts (kind, coalesce(owner_id, '00000000-0000-0000-0000-000000000000'));

create table ledger_transfers (
    id uuid primary key default gen_random_uuid(),
    idempotency_key text not null,
    kind text not null,
    memo text not null default '',
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    constraint ledger_transfers_key unique (idempotency_key)
);

create table ledger_entries (
    id bigserial primary key,
    transfer_id uuid not null references ledger_transfers (id),
    account_id uuid not null references ledger_accounts (id),
    amount_kopecks bigint not null,
    created_at timestamptz not null default now(),
    constraint ledger_entries_nonzero check (amount_kopecks <> 0)
);
create index ledger_entries_account_idx on ledger_entries (account_id, id);
create index ledger_entries_transfer_idx on ledger_entries (transfer_id);

-- At commit, each transfer touched must balance.
create function ledger_transfer_balanced() returns trigger
language plpgsql as $$
begin
    if (select coalesce(sum(amount_kopecks), 0) from ledger_entries where transfer_id = new.transfer_id) <> 0 then
        raise exception 'ledger transfer % does not balance', new.transfer_id
            using errcode = '23514', constraint = 'ledger_transfer_balanced';
    end if;
    return null;
end
$$;
create constraint trigger ledger_transfer_balanced after insert on ledger_entries
    deferrable initially deferred for each row execute function ledger_transfer_balanced();

-- Entries are history: never changed, never removed.
create function ledger_entries_immutable() returns trigger
language plpgsql as $$
begin
    raise exception 'ledger entries are append-only';
end
$$;
create trigger ledger_entries_immutable before update or delete on ledger_entries
    for each row execute function ledger_entries_immutable();
