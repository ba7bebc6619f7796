alter table public.customers alter column tier type varchar(10);
