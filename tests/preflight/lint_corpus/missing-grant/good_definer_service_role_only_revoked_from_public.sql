-- service_role only: the file revokes from PUBLIC and the app roles and grants service_role. Nothing is
-- missing; the rule must not ask for a GRANT to authenticated (that would widen access).
create or replace function app.rotate_keys() returns void
language sql security definer set search_path = ''
as $$ select 1 $$;
revoke execute on function app.rotate_keys() from public, anon, authenticated;
grant execute on function app.rotate_keys() to service_role;
