create or replace function public.delete_account(p_user uuid) returns void
language sql security definer set search_path = ''
as $$ delete from auth.users where id = p_user $$;
revoke execute on function public.delete_account(uuid) from public, anon, authenticated;
grant execute on function public.delete_account(uuid) to service_role;
