-- Nobody but the service role uses it: the app roles lose the default privileges, so RLS is moot.
create table if not exists public.job_queue (id bigint primary key, payload jsonb);
revoke all on public.job_queue from anon, authenticated;
grant select, insert, update, delete on public.job_queue to service_role;
