-- Policy helpers live in a schema the API does not expose.
create schema if not exists private;
create or replace function private.current_org() returns uuid
language sql stable security definer set search_path = ''
as $$ select organization_id from public.memberships where user_id = auth.uid() limit 1 $$;
grant execute on function private.current_org() to authenticated;
