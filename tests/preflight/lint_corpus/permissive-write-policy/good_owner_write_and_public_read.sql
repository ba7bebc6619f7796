create table if not exists public.feedback (id bigint primary key, author uuid not null, body text);
alter table public.feedback enable row level security;
drop policy if exists feedback_read on public.feedback;
create policy feedback_read on public.feedback for select to anon, authenticated using (true);
drop policy if exists feedback_write on public.feedback;
create policy feedback_write on public.feedback for insert to authenticated with check ((select auth.uid()) = author);
drop policy if exists feedback_service on public.feedback;
create policy feedback_service on public.feedback for all to service_role using (true) with check (true);
