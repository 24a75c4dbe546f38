-- Invitations can be listed and revoked: a revoked link no longer opens.
alter table invitations
    add column revoked_at timestamptz,
    add column revoked_by uuid references users (id) on delete set null;
create index invitations_created_at_idx on invitations (created_at desc);
