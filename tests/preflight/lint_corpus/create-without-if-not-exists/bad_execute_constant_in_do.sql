-- expect-line: 4
do $$
begin
  execute $sql$ create table public.audit_trail (id bigint primary key) $sql$;
end $$;
grant select on public.audit_trail to authenticated, service_role;
revoke all on public.audit_trail from anon, authenticated;
