-- expect-line: 2
-- lint-ignore: missing-grant nothing here needs it
alter table if exists public.customers add column if not exists note text;
