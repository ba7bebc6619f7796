-- A helper the policies call, granted to the role the policies run for. service_role bypasses row level
-- security, so the policies never call it for service_role: leaving it out is not an omission.
create schema if not exists app;
grant usage on schema app to authenticated, service_role;
alter default privileges in schema app revoke execute on functions from public;
create table if not exists app.accounts (id uuid primary key, owner_id uuid not null);
alter table app.accounts enable row level security;
grant select on app.accounts to authenticated, service_role;
create or replace function app.is_member(account uuid) returns boolean
language sql stable security definer set search_path = ''
as $$ select exists (select 1 from app.accounts a where a.id = account and a.owner_id = auth.uid()) $$;
revoke execute on function app.is_member(uuid) from public, anon;
grant execute on function app.is_member(uuid) to authenticated;
drop policy if exists "members read" on app.accounts;
create policy "members read" on app.accounts for select to authenticated using (app.is_member(id));
