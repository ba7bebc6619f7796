-- corpus-later: create policy notes_read on public.notes for select to authenticated using (true);
create table if not exists public.notes (id bigint primary key, body text not null);
alter table public.notes enable row level security;
