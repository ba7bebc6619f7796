-- expect-line: 5
create table if not exists public.c (
    id int primary key,
    note text
;
