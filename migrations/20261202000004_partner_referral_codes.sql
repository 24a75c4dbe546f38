-- Partners who came through an invitation or a change of role had no
-- referral code, so they could not invite anyone; new ones get one in the
-- app, existing ones here.
update users
set referral_code = upper(substr(md5(id::text || clock_timestamp()::text), 1, 8))
where role = 'partner' and referral_code is null;
