create table if not exists public.a (id int);
creat table if not exists public.b (id int);
select 1;
alter tabel public.a add column if not exists x int;
