set lock_timeout = '5s';
-- expect-line: 3
-- lint-ignore: missing-grant nothing here needs it
alter table if exists public.customers add column if not exists note text;
