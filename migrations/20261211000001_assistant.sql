-- AI assistant bots: a bot's assistant mode, its plans, each Telegram
-- user's access (trial, credits, subscription), every question with what it
-- cost, and the Stars payments. The rules money needs are the database's:
-- credits never below zero, one debit per question, one credit per charge.

create table assistant_settings (
    bot_id uuid primary key references bots (id) on delete cascade,
    enabled boolean not null default false,
    -- Provider; a null base URL means the default one from the environment.
    base_url text,
    api_key_enc bytea,
    model text not null default '',
    temperature real not null default 0.7
        constraint assistant_settings_temperature_check check (temperature between 0 and 2),
    max_tokens integer not null default 1000
        constraint assistant_settings_max_tokens_check check (max_tokens between 16 and 16000),
    -- How much of the conversation goes into the context.
    history_messages integer not null default 10
        constraint assistant_settings_history_check check (history_messages between 0 and 100),
    -- The free trial: this many questions (0: no limit on the number) within
    -- this many days of activation (0: no limit in time). Both 0: no trial.
    trial_messages integer not null default 5
        constraint assistant_settings_trial_messages_check check (trial_messages between 0 and 10000),
    trial_days integer not null default 0
        constraint assistant_settings_trial_days_check check (trial_days between 0 and 365),
    terms text not null default '',
    knowledge jsonb not null default '[]',
    languages text[] not null default '{ru}',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger assistant_settings_updated_at before update on assistant_settings
    for each row execute function set_updated_at();

-- The system prompt, versioned: the newest version is the one in force.
create table assistant_prompts (
    id uuid primary key default gen_random_uuid(),
    bot_id uuid not null references bots (id) on delete cascade,
    version integer not null,
    body text not null,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint assistant_prompts_version_key unique (bot_id, version)
);

create table assistant_plans (
    id uuid primary key default gen_random_uuid(),
    bot_id uuid not null references bots (id) on delete cascade,
    -- 'pack': so many questions; 'subscription': so many days with limits.
    kind text not null constraint assistant_plans_kind_check check (kind in ('pack', 'subscription')),
    title text not null constraint assistant_plans_title_check check (length(title) between 1 and 32),
    description text not null default '',
    stars integer not null constraint assistant_plans_stars_check check (stars between 1 and 100000),
    credits integer not null default 0,
    days integer not null default 0,
    daily_limit integer not null default 0,
    monthly_limit integer not null default 0,
    active boolean not null default true,
    position integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint assistant_plans_shape_check check (
        (kind = 'pack' and credits > 0 and days = 0)
        or (kind = 'subscription' and days > 0 and credits = 0 and daily_limit >= 0 and monthly_limit >= 0))
);
create index assistant_plans_bot_idx on assistant_plans (bot_id, position);
create trigger assistant_plans_updated_at before update on assistant_plans
    for each row execute function set_updated_at();

-- One Telegram user of one assistant bot.
create table assistant_wallets (
    bot_id uuid not null references bots (id) on delete cascade,
    chat_id bigint not null,
    credits integer not null default 0 constraint assistant_wallets_credits_check check (credits >= 0),
    trial_started_at timestamptz,
    -- Questions left in the trial (null: no limit on the number).
    trial_left integer constraint assistant_wallets_trial_left_check check (trial_left >= 0),
    trial_until timestamptz,
    subscription_plan_id uuid references assistant_plans (id) on delete set null,
    subscription_until timestamptz,
    language text,
    style text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (bot_id, chat_id)
);
create trigger assistant_wallets_updated_at before update on assistant_wallets
    for each row execute function set_updated_at();

-- Every question: recorded in the transaction that pays for it, once per
-- Telegram message.
create table assistant_questions (
    id uuid primary key default gen_random_uuid(),
    bot_id uuid not null references bots (id) on delete cascade,
    chat_id bigint not null,
    message_id bigint not null,
    question text not null,
    paid_with text constraint assistant_questions_paid_with_check
        check (paid_with in ('trial', 'credit', 'subscription', 'free')),
    state text not null default 'pending'
        constraint assistant_questions_state_check check (state in ('pending', 'answered', 'failed')),
    answer text,
    model text,
    tokens_in integer,
    tokens_out integer,
    latency_ms integer,
    tries integer,
    error text,
    -- The answering worker that took it may keep it until then.
    claimed_until timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint assistant_questions_message_key unique (bot_id, chat_id, message_id)
);
create index assistant_questions_pending_idx on assistant_questions (created_at) where state = 'pending';
create index assistant_questions_bot_time_idx on assistant_questions (bot_id, created_at desc);
create index assistant_questions_chat_idx on assistant_questions (bot_id, chat_id, created_at desc);
create trigger assistant_questions_updated_at before update on assistant_questions
    for each row execute function set_updated_at();

create table assistant_payments (
    id uuid primary key default gen_random_uuid(),
    bot_id uuid not null references bots (id) on delete cascade,
    chat_id bigint not null,
    plan_id uuid references assistant_plans (id) on delete set null,
    stars integer not null constraint assistant_payments_stars_check check (stars > 0),
    -- Telegram's id of the charge: a payment is credited once.
    charge_id text not null constraint assistant_payments_charge_key unique,
    payload text not null,
    state text not null default 'paid' constraint assistant_payments_state_check check (state in ('paid', 'refunded')),
    refunded_at timestamptz,
    refunded_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index assistant_payments_bot_idx on assistant_payments (bot_id, created_at desc);
create trigger assistant_payments_updated_at before update on assistant_payments
    for each row execute function set_updated_at();

-- Credits moved, append-only; a key is used once per bot.
create table assistant_credit_entries (
    id bigserial primary key,
    bot_id uuid not null references bots (id) on delete cascade,
    chat_id bigint not null,
    delta integer not null constraint assistant_credit_entries_delta_check check (delta <> 0),
    reason text not null constraint assistant_credit_entries_reason_check
        check (reason in ('question', 'refund_failed', 'purchase', 'refund_payment', 'manual')),
    idempotency_key text not null,
    -- What the entry is for (no foreign keys: entries are never rewritten).
    question_id uuid,
    payment_id uuid,
    actor_id uuid references users (id) on delete set null,
    note text not null default '',
    created_at timestamptz not null default now(),
    constraint assistant_credit_entries_key unique (bot_id, idempotency_key)
);
create index assistant_credit_entries_chat_idx on assistant_credit_entries (bot_id, chat_id, id desc);
-- Entries are never changed; they go only with their bot.
create function assistant_credit_entries_immutable() returns trigger
language plpgsql as $$
begin
    if tg_op = 'DELETE' and not exists (select 1 from bots where id = old.bot_id) then
        return old;
    end if;
    raise exception 'assistant credit entries are append-only' using errcode = 'check_violation';
end $$;
create trigger assistant_credit_entries_immutable before update or delete on assistant_credit_entries
    for each row execute function assistant_credit_entries_immutable();
