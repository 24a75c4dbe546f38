-- A guest is an application awaiting approval: it may see its own record and
-- nothing else (the domain refuses everything else to an inactive account
-- anyway; the matrix says the same, so the editor shows no warning).
update permissions set scope = 'none'
where role = 'guest' and not (resource = 'users' and action = 'view');
