create schema if not exists private;
create or replace function private.touch() returns void language plpgsql security definer as $$ begin perform 1; end $$;
alter function private.touch() set search_path = pg_catalog, public;
