-- Broadcast project changes; the publication may or may not exist yet.
do $$
begin
    if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
        create publication supabase_realtime;
    end if;
end
$$;

do $$
begin
    alter publication supabase_realtime add table public.projects;
exception
    when duplicate_object then null;
end
$$;
