create schema if not exists private;
create or replace function private.is_member(p_org uuid) returns boolean
language sql stable security definer set search_path = ''
as $$ select exists (select 1 from public.memberships m where m.organization_id = p_org and m.user_id = auth.uid()) $$;
