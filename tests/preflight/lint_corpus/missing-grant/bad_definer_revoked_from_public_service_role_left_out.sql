-- Revoked from PUBLIC, granted to nobody: the service role cannot call it either. The fix grants service_role
-- only (authenticated lost EXECUTE with PUBLIC, a decision), never more.
-- expect-line: 4
create or replace function app.rotate_keys() returns void
language sql security definer set search_path = ''
as $$ select 1 $$;
revoke execute on function app.rotate_keys() from public;
