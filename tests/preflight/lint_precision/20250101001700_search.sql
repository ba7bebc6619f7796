create or replace function public.search_projects(p_query text, p_limit integer default 20)
returns table (id bigint, name text, similarity real)
language sql
stable
set search_path = ''
as $$
    select p.id, p.name, extensions.similarity(p.name, p_query)
    from public.projects p
    where p.name operator(extensions.%) p_query
    order by 3 desc
    limit p_limit;
$$;

grant execute on function public.search_projects(text, integer) to authenticated, service_role;
