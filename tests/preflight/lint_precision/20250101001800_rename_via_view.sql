-- Replace an old helper: drop the previous signature, create the new one.
drop function if exists public.organization_balance(uuid, boolean);

create or replace function public.organization_member_count(p_org uuid)
returns integer
language sql
stable
security definer
set search_path = ''
begin atomic
    select count(*)::integer from public.memberships where organization_id = p_org;
end;

revoke execute on function public.organization_member_count(uuid) from public, anon;
grant execute on function public.organization_member_count(uuid) to authenticated, service_role;

drop view if exists public.project_overview;
create view public.project_overview with (security_invoker = true) as
    select p.id, p.name, o.name as organization_name
    from public.projects p
    join public.organizations o on o.id = p.organization_id;

grant select on public.project_overview to authenticated, service_role;
