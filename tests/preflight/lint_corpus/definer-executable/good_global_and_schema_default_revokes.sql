-- The usual Supabase hardening, in an earlier file: PUBLIC loses EXECUTE everywhere (global default), and the
-- API roles lose Supabase's per-schema grant in public. A new definer function is then service_role only.
-- corpus-prior: alter default privileges revoke execute on functions from public; alter default privileges in schema public revoke execute on functions from anon, authenticated;
create or replace function public.purge_user(p_user uuid) returns void
language sql security definer set search_path = ''
as $$ delete from auth.users where id = p_user $$;
grant execute on function public.purge_user(uuid) to service_role;
