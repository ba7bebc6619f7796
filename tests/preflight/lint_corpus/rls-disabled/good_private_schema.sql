create schema if not exists private;
create table if not exists private.secrets (id bigint primary key, value text);
grant select on private.secrets to service_role;
revoke usage on schema private from anon, authenticated;
