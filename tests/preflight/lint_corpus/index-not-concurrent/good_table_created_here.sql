create table if not exists public.events (id bigint primary key, created_at timestamptz not null default now());
revoke all on public.events from anon, authenticated;
create index if not exists events_created_at_idx on public.events (created_at);
