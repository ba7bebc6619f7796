-- A per-schema REVOKE only takes back a per-schema GRANT: PUBLIC's EXECUTE is global, so it stays.
-- corpus-prior: alter default privileges in schema public revoke execute on functions from public, anon, authenticated;
-- expect-line: 4
create or replace function public.purge_user(p_user uuid) returns void
language sql security definer set search_path = ''
as $$ delete from auth.users where id = p_user $$;
grant execute on function public.purge_user(uuid) to service_role;
