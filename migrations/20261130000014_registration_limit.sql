-- Applications per address in the last hour (registration is rate-limited).
create index audit_log_register_ip_idx on audit_log (ip, created_at) where action = 'register';
