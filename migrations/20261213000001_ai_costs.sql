-- What the AI costs: the bot's prices per million tokens (in kopecks, the
-- provider's price list turned into rubles) and, on every question and
-- flow ask, the cost estimated when it was answered, in millionths of a
-- ruble (a question costs a fraction of a kopeck).
alter table assistant_settings
    add column price_in_kopecks bigint not null default 0
        constraint assistant_settings_price_in_check check (price_in_kopecks between 0 and 100000000),
    add column price_out_kopecks bigint not null default 0
        constraint assistant_settings_price_out_check check (price_out_kopecks between 0 and 100000000);
alter table assistant_questions add column cost_micro_rub bigint;
alter table flow_ai_asks add column cost_micro_rub bigint;
