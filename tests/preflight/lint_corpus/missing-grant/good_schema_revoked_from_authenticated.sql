create schema if not exists internal;
revoke usage on schema internal from anon, authenticated;
create or replace function internal.normalize_name(p text) returns text language sql immutable as $$ select lower(trim(p)) $$;
grant execute on function internal.normalize_name(text) to service_role;
