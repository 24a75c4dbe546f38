-- Outreach in the CRM: its own resource in the matrix, targets taken from
-- CRM clients (the lead on handoff joins that client's card), and the
-- lead's source «Холодная база».

alter table outreach_targets add column client_id uuid references clients (id) on delete set null;

-- Admins run it all. Employees (managers) see, answer and export the
-- dialogs of campaigns they run or were given; accounts and campaigns
-- themselves are the admins' (`edit`).
insert into permissions (role, resource, action, scope)
select r.role, 'outreach', a.action, 'none'
from (values ('admin'), ('employee'), ('partner'), ('franchisee'), ('guest')) as r (role)
cross join (values ('view'), ('edit'), ('send'), ('export')) as a (action)
on conflict (role, resource, action) do nothing;
update permissions set scope = 'all' where resource = 'outreach' and role = 'admin';
update permissions set scope = 'own'
where resource = 'outreach' and role = 'employee' and action in ('view', 'send', 'export');

-- The end of a FLOOD_WAIT, apart from `next_send_at` (which also carries
-- the ordinary delay): a manager's own reply waits only for this.
alter table outreach_accounts add column flood_until timestamptz;
