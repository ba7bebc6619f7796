create table if not exists public.feedback (id bigint generated always as identity primary key, body text);
alter table public.feedback enable row level security;
drop policy if exists feedback_insert on public.feedback;
create policy feedback_insert on public.feedback for insert to anon, authenticated with check (true);
