set lock_timeout = '5s';
-- approved-destructive: cleanup of staging
alter table if exists public.customers add column if not exists note text;
