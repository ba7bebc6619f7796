-- "description" becomes "summary"; the guard makes a second run a no-op.
do $$
begin
    if exists (
        select 1 from information_schema.columns
        where table_schema = 'public' and table_name = 'projects' and column_name = 'description'
    ) then
        alter table public.projects rename column description to summary;
    end if;
end
$$;
