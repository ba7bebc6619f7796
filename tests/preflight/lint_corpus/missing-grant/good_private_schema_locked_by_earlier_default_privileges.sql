-- An earlier file locked the schema for service_role: default privileges revoke the app roles, grant service_role.
-- corpus-prior: create schema if not exists vault_data; revoke all on schema vault_data from public, anon, authenticated; grant usage on schema vault_data to service_role; alter default privileges in schema vault_data revoke all on tables from anon, authenticated; alter default privileges in schema vault_data grant all on tables to service_role;
create table if not exists vault_data.tokens (id bigint primary key, token_hash text not null);
