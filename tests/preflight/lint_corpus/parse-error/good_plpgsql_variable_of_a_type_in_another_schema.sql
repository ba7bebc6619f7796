-- pglast cannot look up a type outside pg_catalog/public ("Not implemented"); PostgreSQL can: not a parse error.
create schema if not exists app;
do $$ begin
    if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                   where t.typname = 'account_role' and n.nspname = 'app') then
        create type app.account_role as enum ('owner', 'member');
    end if;
end $$;
create or replace function app.role_label(p_role app.account_role) returns text
language plpgsql stable set search_path = ''
as $$
declare
    current_role_value app.account_role := p_role;
begin
    return current_role_value::text;
end;
$$;
