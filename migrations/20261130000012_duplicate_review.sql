-- A lead handed in by someone who may not see the client its phone or email
-- belongs to: it keeps its own client record and waits in the unsorted inbox
-- for HQ to review it as a possible duplicate of this client.
alter table leads add column duplicate_of_client_id uuid
    constraint leads_duplicate_of_client_id_fkey references clients (id) on delete set null;
create index leads_duplicate_of_client_id_idx on leads (duplicate_of_client_id)
    where duplicate_of_client_id is not null;
