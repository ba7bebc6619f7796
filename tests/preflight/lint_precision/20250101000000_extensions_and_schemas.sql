-- Extensions live in their own schema, as on Supabase.
create extension if not exists pgcrypto with schema extensions;
create extension if not exists pg_trgm with schema extensions;
create extension if not exists citext with schema extensions;

create schema if not exists private;
grant usage on schema private to service_role;
revoke all on schema private from anon, authenticated;
