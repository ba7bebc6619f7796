-- expect-line: 7
-- public.import_rows is a real table, whatever temporary table shares its name: no approval here.
create temp table import_rows (id int);
insert into import_rows values (1);
drop table import_rows;

delete from public.import_rows;
