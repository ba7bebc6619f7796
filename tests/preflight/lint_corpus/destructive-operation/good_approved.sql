set lock_timeout = '5s';
-- approved-destructive: legacy_customers was copied into customers by 20251201000000; ticket OPS-142
drop table if exists public.legacy_customers;
alter table public.customers drop column if exists legacy_code;
