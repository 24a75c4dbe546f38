-- Where an import's PostgreSQL time goes: the import's own inserts for 100,000
-- new clients, each variant in a transaction that is rolled back.
--   psql "$DATABASE_URL" -f scripts/bench-import-breakdown.sql
-- (run on a migrated database with an admin; docs/BENCHMARKS.md has the results)
\timing on
create temp table src as
select gen_random_uuid() as id, 'Тестов Тест ' || g as name, '+7917' || lpad(g::text, 7, '0') as phone,
       (g * 1000)::bigint as amount from generate_series(1, 100000) g;
select id as admin from users order by created_at limit 1 \gset
select id as pipe from pipelines order by position limit 1 \gset
select id as st from dictionary_items where kind = 'status' order by position limit 1 \gset
\echo clients, phones, leads as the import writes them
begin;
insert into clients (id, full_name, owner_id, consent_at, consent_method, consent_text_version)
select id, name, :'admin', now(), 'import', 'x' from src;
insert into client_phones (client_id, phone) select id, phone from src;
insert into leads (client_id, amount_kopecks, pipeline_id, unsorted, status_id, created_by)
select id, amount, :'pipe', true, :'st', :'admin' from src;
rollback;
insert into clients (id, full_name, owner_id, consent_at, consent_method, consent_text_version)
select id, name, :'admin', now(), 'import', 'x' from src;
\echo leads without foreign keys
begin;
alter table leads drop constraint leads_client_id_fkey, drop constraint leads_status_id_fkey,
  drop constraint leads_pipeline_id_fkey, drop constraint leads_created_by_fkey, drop constraint leads_import_job_id_fkey;
insert into leads (client_id, amount_kopecks, pipeline_id, unsorted, status_id, created_by)
select id, amount, :'pipe', true, :'st', :'admin' from src;
rollback;
\echo leads without secondary indexes
begin;
drop index leads_client_idx, leads_stage_idx, leads_stage_created_idx, leads_stage_amount_idx, leads_amount_idx,
  leads_updated_idx, leads_created_idx, leads_partner_idx, leads_franchisee_idx, leads_responsible_idx,
  leads_tags_idx, leads_extra_idx, leads_unsorted_idx, leads_unsorted_board_idx;
insert into leads (client_id, amount_kopecks, pipeline_id, unsorted, status_id, created_by)
select id, amount, :'pipe', true, :'st', :'admin' from src;
rollback;
\echo leads without the GIN indexes
begin;
drop index leads_tags_idx, leads_extra_idx;
insert into leads (client_id, amount_kopecks, pipeline_id, unsorted, status_id, created_by)
select id, amount, :'pipe', true, :'st', :'admin' from src;
rollback;
\echo leads as they are
begin;
insert into leads (client_id, amount_kopecks, pipeline_id, unsorted, status_id, created_by)
select id, amount, :'pipe', true, :'st', :'admin' from src;
rollback;
delete from clients where id in (select id from src);
