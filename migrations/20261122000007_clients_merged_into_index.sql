-- Deleting or merging a client checks `clients.merged_into` references: without
-- an index that is a scan of all clients per deleted row.
create index clients_merged_into_idx on clients (merged_into) where merged_into is not null;
