alter table public.customers drop column if exists legacy_code;
