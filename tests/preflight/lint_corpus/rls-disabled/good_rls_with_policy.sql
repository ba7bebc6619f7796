create table if not exists public.notes (id bigint primary key, owner uuid not null, body text not null);
alter table public.notes enable row level security;
drop policy if exists notes_owner_read on public.notes;
create policy notes_owner_read on public.notes for select to authenticated using ((select auth.uid()) = owner);
