-- The inbox gets a resource of its own in the matrix: answering the bots'
-- conversations is an employee's everyday work, managing the bots is not.
-- By default employees see and answer every bot's chats; partners,
-- franchisees and guests have no inbox (they own no bots); admins all.
insert into permissions (role, resource, action, scope)
select p.role, 'inbox', p.action, 'none'
from permissions p where p.resource = 'telegram'
on conflict (role, resource, action) do nothing;

update permissions i set scope = t.scope
from permissions t
where i.resource = 'inbox' and t.resource = 'telegram' and t.role = i.role
  and ((i.action = 'view' and t.action = 'view') or (i.action = 'edit' and t.action = 'edit'));

update permissions set scope = 'all'
where resource = 'inbox' and role = 'employee' and action in ('view', 'edit');
update permissions set scope = 'all' where resource = 'inbox' and role = 'admin';
update permissions set scope = 'none'
where resource = 'inbox' and role in ('partner', 'franchisee', 'guest');
