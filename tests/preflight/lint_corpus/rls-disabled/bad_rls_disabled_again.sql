create table if not exists public.notes (id bigint primary key, body text not null);
alter table public.notes enable row level security;
alter table public.notes disable row level security;
