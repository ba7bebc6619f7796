-- corpus-later: create policy "members read" on app.accounts for select to authenticated using (app.is_member(id));
-- The policy that calls the helper comes in a later file: still never run for service_role (it bypasses RLS).
create schema if not exists app;
grant usage on schema app to authenticated, service_role;
create or replace function app.is_member(account uuid) returns boolean
language sql stable set search_path = ''
as $$ select account is not null $$;
revoke execute on function app.is_member(uuid) from public, anon;
grant execute on function app.is_member(uuid) to authenticated;
