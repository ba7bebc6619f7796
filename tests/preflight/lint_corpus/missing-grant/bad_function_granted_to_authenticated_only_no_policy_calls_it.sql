-- Granted to authenticated, called by no policy: service_role (backends, edge functions) cannot run it.
-- A column default that calls it (evaluated by whoever inserts, service_role included) is the usual way it shows.
create schema if not exists app;
grant usage on schema app to authenticated, service_role;
create or replace function app.new_token(length int) returns text
language sql volatile set search_path = ''
as $$ select substr(md5(random()::text), 1, length) $$;
revoke execute on function app.new_token(int) from public, anon;
grant execute on function app.new_token(int) to authenticated;
