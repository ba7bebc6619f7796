-- approved-destructive: varchar(40) to text keeps every value
set lock_timeout = '5s';
alter table public.orders alter column note type text;
