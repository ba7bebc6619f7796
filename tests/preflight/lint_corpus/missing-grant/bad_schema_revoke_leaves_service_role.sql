create schema if not exists internal;
revoke usage on schema internal from anon, authenticated;
create table if not exists internal.name_cache (name text primary key);
