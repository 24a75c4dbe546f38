-- Acts that carry their own weight get their own right instead of meaning
-- "edit": approving registrations (users/approve), answering in the inbox
-- (inbox/send) and sending from bots (telegram/send, for broadcasts),
-- bidding in the auction (auction/bid) and settling with partners and
-- franchisees (a new resource, settlements: view/settle).
-- Each new cell starts from what the old one allowed, so nobody gains or
-- loses anything today.

insert into permissions (role, resource, action, scope)
select role, 'users', 'approve', case when role in ('admin', 'employee') then scope else 'none' end
from permissions where resource = 'users' and action = 'edit'
on conflict do nothing;

insert into permissions (role, resource, action, scope)
select role, 'inbox', 'send', scope
from permissions where resource = 'inbox' and action = 'edit'
on conflict do nothing;

insert into permissions (role, resource, action, scope)
select role, 'telegram', 'send', scope
from permissions where resource = 'telegram' and action = 'edit'
on conflict do nothing;

-- Franchisees buy leads for themselves; admins run the auction.
insert into permissions (role, resource, action, scope)
select role, 'auction', 'bid', case role when 'admin' then 'all' when 'franchisee' then 'own' else 'none' end
from (values ('admin'), ('employee'), ('partner'), ('franchisee'), ('guest')) as r (role)
on conflict do nothing;

-- Partners and franchisees see their own settlements; admins settle.
insert into permissions (role, resource, action, scope)
select r.role, 'settlements', a.action,
       case
           when r.role = 'admin' then 'all'
           when a.action = 'view' and r.role in ('partner', 'franchisee') then 'own'
           else 'none'
       end
from (values ('admin'), ('employee'), ('partner'), ('franchisee'), ('guest')) as r (role)
cross join (values ('view'), ('settle')) as a (action)
on conflict do nothing;

-- Cells no operation asks for (audit/create, clients/import, inbox/edit…)
-- are dropped: the matrix holds exactly what `Resource::actions` lists.
delete from permissions p
where not exists (
    select 1
    from (values
        ('users', 'view'), ('users', 'create'), ('users', 'edit'), ('users', 'approve'), ('users', 'export'),
        ('leads', 'view'), ('leads', 'create'), ('leads', 'edit'), ('leads', 'delete'), ('leads', 'export'), ('leads', 'import'),
        ('clients', 'view'), ('clients', 'edit'),
        ('auction', 'view'), ('auction', 'bid'), ('auction', 'edit'),
        ('settlements', 'view'), ('settlements', 'settle'),
        ('reports', 'view'), ('reports', 'export'),
        ('telegram', 'view'), ('telegram', 'create'), ('telegram', 'edit'), ('telegram', 'delete'), ('telegram', 'send'),
        ('inbox', 'view'), ('inbox', 'send'),
        ('settings', 'view'), ('settings', 'edit'),
        ('audit', 'view')
    ) as d (resource, action)
    where d.resource = p.resource and d.action = p.action
);
