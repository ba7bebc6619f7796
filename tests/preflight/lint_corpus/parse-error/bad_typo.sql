-- expect-line: 3
create table if not exists public.a (id int);
creat table if not exists public.b (id int);
