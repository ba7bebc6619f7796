create table if not exists public.notes (id bigint primary key, owner uuid not null, body text);
alter table public.notes enable row level security;
drop policy if exists notes_owner on public.notes;
create policy notes_owner on public.notes for select to authenticated using ((select auth.uid()) = owner);
create or replace view public.recent_notes with (security_invoker = true) as select * from public.notes order by id desc limit 10;
