-- Reports and dashboards.
--
-- The stage history: conversion to a stage counts the leads that reached it,
-- and the time between two stages needs when each was entered. Recorded by
-- statement-level triggers, so whatever path moves a lead (the card, the
-- board, a bulk action, an import, a flow, the auction) is recorded, and a
-- 5,000-row import batch costs one insert, not 5,000.
create table lead_stage_moves (
    id bigserial primary key,
    lead_id uuid not null references leads (id) on delete cascade,
    stage_id uuid not null references stages (id) on delete cascade,
    entered_at timestamptz not null default now()
);
create index lead_stage_moves_lead_idx on lead_stage_moves (lead_id, stage_id, entered_at);
create index lead_stage_moves_stage_idx on lead_stage_moves (stage_id, lead_id);

create function record_stage_moves_on_insert() returns trigger language plpgsql as $$
begin
    insert into lead_stage_moves (lead_id, stage_id, entered_at)
    select n.id, n.stage_id, n.created_at from new_rows n where n.stage_id is not null;
    return null;
end $$;

create function record_stage_moves_on_update() returns trigger language plpgsql as $$
begin
    insert into lead_stage_moves (lead_id, stage_id, entered_at)
    select n.id, n.stage_id, now()
    from new_rows n join old_rows o on o.id = n.id
    where n.stage_id is not null and n.stage_id is distinct from o.stage_id;
    return null;
end $$;

create trigger leads_stage_moves_insert after insert on leads
    referencing new table as new_rows
    for each statement execute function record_stage_moves_on_insert();
create trigger leads_stage_moves_update after update on leads
    referencing old table as old_rows new table as new_rows
    for each statement execute function record_stage_moves_on_update();

-- History begins now: a lead that exists entered its current stage when it
-- was created (or closed, for a closed one) as far as the reports know.
insert into lead_stage_moves (lead_id, stage_id, entered_at)
select id, stage_id, coalesce(closed_at, created_at) from leads where stage_id is not null;

-- What reports cut leads by, kept on the lead itself so a report reads
-- columns instead of working per row:
-- * how far each lead got in its pipeline: the position of the furthest
--   stage it entered (a lost stage doesn't count), for the funnel and a
--   conversion to a stage; reset when the lead changes pipeline;
-- * the days it was created and closed on in the company's time zone, for
--   cutting by day / week / month (converting a million timestamps per
--   report was most of its time); recomputed when the zone changes.
-- Kept by one row trigger whatever path writes the lead.
alter table leads add column reached_position integer,
                  add column created_day date,
                  add column closed_day date;

create function company_zone() returns text language sql stable as $$
    select coalesce((select value #>> '{}' from app_settings where key = 'time_zone'), 'Europe/Moscow')
$$;

create function keep_lead_report_columns() returns trigger language plpgsql as $$
declare
    pos integer;
    zone text := company_zone();
begin
    new.created_day := (new.created_at at time zone zone)::date;
    new.closed_day := (new.closed_at at time zone zone)::date;
    if tg_op = 'INSERT' or new.stage_id is distinct from old.stage_id or new.pipeline_id is distinct from old.pipeline_id then
        select position into pos from stages where id = new.stage_id and kind <> 'lost';
        if tg_op = 'UPDATE' and old.pipeline_id is not distinct from new.pipeline_id then
            new.reached_position := greatest(old.reached_position, pos);
        else
            new.reached_position := pos;
        end if;
    end if;
    return new;
end $$;

create trigger leads_report_columns_insert before insert on leads
    for each row execute function keep_lead_report_columns();
create trigger leads_report_columns_update before update of stage_id, pipeline_id, created_at, closed_at on leads
    for each row execute function keep_lead_report_columns();

update leads l set reached_position = (select s.position from stages s where s.id = l.stage_id and s.kind <> 'lost'),
                   created_day = (l.created_at at time zone company_zone())::date,
                   closed_day = (l.closed_at at time zone company_zone())::date;

-- Saved reports: private to the owner, or shared with roles; optionally
-- sent as an XLSX through the company bot on a schedule.
create table saved_reports (
    id uuid primary key default gen_random_uuid(),
    owner_id uuid not null references users (id) on delete cascade,
    name text not null,
    definition jsonb not null,
    shared_roles text[] not null default '{}',
    -- none | daily | weekly | monthly
    schedule text not null default 'none',
    next_send_at timestamptz,
    last_sent_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint saved_reports_schedule_check check (schedule in ('none', 'daily', 'weekly', 'monthly')),
    constraint saved_reports_next_check check ((schedule = 'none') = (next_send_at is null))
);
create trigger saved_reports_updated_at before update on saved_reports for each row execute function set_updated_at();
create index saved_reports_owner_idx on saved_reports (owner_id, name);
create index saved_reports_shared_idx on saved_reports using gin (shared_roles);
create index saved_reports_due_idx on saved_reports (next_send_at) where next_send_at is not null;

-- Sharing a report with roles is publishing it: `reports:create`.
-- Partners and offices export their own reports.
insert into permissions (role, resource, action, scope)
select r.role, 'reports', 'create', 'none'
from (values ('admin'), ('employee'), ('partner'), ('franchisee'), ('guest')) as r (role)
on conflict (role, resource, action) do nothing;
update permissions set scope = 'all' where resource = 'reports' and action = 'create' and role in ('admin', 'employee');
update permissions set scope = 'own' where resource = 'reports' and action = 'export' and role = 'partner' and scope = 'none';
update permissions set scope = 'team' where resource = 'reports' and action = 'export' and role = 'franchisee' and scope = 'none';
