create table if not exists public.docs (
    id bigint generated always as identity primary key,
    body jsonb not null default '{}'::jsonb,
    title text generated always as (body ->> 'title') stored,
    unique nulls not distinct (title)
);
merge into public.docs d using (select 1 as id) s on d.id = s.id
    when matched then do nothing;
create or replace function public.doc_title(d public.docs) returns text
    language sql stable begin atomic select d.body ->> 'title'; end;
grant select on public.docs to authenticated, service_role;
grant execute on function public.doc_title(public.docs) to authenticated, service_role;
revoke all on public.docs from anon, authenticated;
