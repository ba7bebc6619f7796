-- Used by policies; security definer so the policy does not recurse into memberships' own RLS.
create or replace function private.is_member(p_org uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
    select exists (
        select 1 from public.memberships m
        where m.organization_id = p_org and m.user_id = (select auth.uid())
    );
$$;

revoke all on function private.is_member(uuid) from public;
grant execute on function private.is_member(uuid) to authenticated, service_role;

drop policy if exists "Members can read their organizations" on public.organizations;
create policy "Members can read their organizations"
    on public.organizations for select to authenticated
    using (private.is_member(id));

drop policy if exists "Members can read memberships" on public.memberships;
create policy "Members can read memberships"
    on public.memberships for select to authenticated
    using (private.is_member(organization_id));
