create table if not exists public.feedback (id bigint primary key, body text);
alter table public.feedback enable row level security;
drop policy if exists feedback_all on public.feedback;
create policy feedback_all on public.feedback using (true);
