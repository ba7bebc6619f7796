-- A policy helper: the policy needs its callers to keep EXECUTE, so the fix moves it out of /rpc's reach.
create table if not exists public.notes (id bigint primary key, owner_id uuid not null);
alter table public.notes enable row level security;
create or replace function public.owns_note(note_owner uuid) returns boolean
language sql stable security definer set search_path = ''
as $$ select note_owner = (select auth.uid()) $$;
grant execute on function public.owns_note(uuid) to service_role;
drop policy if exists notes_own on public.notes;
create policy notes_own on public.notes for select to authenticated using (public.owns_note(owner_id));
grant select on public.notes to authenticated, service_role;
