-- expect-line: 5
do $$
begin
  perform 1;
  create table public.audit_log (id bigint primary key, at timestamptz default now());
end $$;
grant select on public.audit_log to authenticated, service_role;
revoke all on public.audit_log from anon, authenticated;
