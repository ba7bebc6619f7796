create table if not exists public.audit_events (id bigint primary key, payload jsonb);
revoke all on public.audit_events from anon, authenticated;
grant select, insert on public.audit_events to service_role;
