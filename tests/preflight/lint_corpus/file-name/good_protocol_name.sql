set lock_timeout = '5s';
-- corpus-file: 20251209143000_add_customer_tier_column.sql
alter table if exists public.customers add column if not exists tier text;
