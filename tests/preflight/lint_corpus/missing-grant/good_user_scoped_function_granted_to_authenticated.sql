-- A function about the signed-in user (auth.uid()): the service role has no user for it to answer about,
-- so it needs no grant; signed-in users get theirs.
create schema if not exists app;
grant usage on schema app to authenticated, service_role;
create or replace function app.my_team_ids() returns setof bigint
language sql stable set search_path = ''
as $$ select team_id from app.memberships where user_id = (select auth.uid()) $$;
revoke execute on function app.my_team_ids() from public, anon;
grant execute on function app.my_team_ids() to authenticated;
