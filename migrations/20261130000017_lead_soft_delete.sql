-- Deleting a lead hides it everywhere (lists, board, card, export, client
-- page, duplicate hints) but keeps the row and its history: audited, and
-- an administrator can restore it in the database.
alter table leads add column deleted_at timestamptz;
alter table leads add column deleted_by uuid references users (id) on delete set null;
create index leads_live_idx on leads (updated_at desc) where deleted_at is null;
