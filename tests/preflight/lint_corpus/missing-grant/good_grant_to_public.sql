create or replace function public.app_version() returns text language sql immutable as $$ select '1.4.0' $$;
grant execute on function public.app_version() to public;
