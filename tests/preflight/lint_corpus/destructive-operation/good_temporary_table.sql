set lock_timeout = '5s';
-- A temporary table lives only as long as the migration's session: staging
-- rows in it, emptying it and dropping it lose nothing, and a second run
-- starts with a fresh one.
create table if not exists public.customers (id int primary key, email text);
grant select on public.customers to authenticated, service_role;

create temp table import_rows (id int, email text);
create index import_rows_email_idx on import_rows (email);
insert into import_rows values (1, 'a@x'), (2, 'b@x');
update import_rows set email = lower(email);
delete from import_rows where email is null;
insert into public.customers (id, email) select id, email from import_rows on conflict (id) do nothing;
truncate import_rows;
delete from pg_temp.import_rows;
drop table import_rows;

create temporary table stage as select 1 as id;
alter table stage add column note text;
drop table stage;
revoke all on public.customers from anon, authenticated;
