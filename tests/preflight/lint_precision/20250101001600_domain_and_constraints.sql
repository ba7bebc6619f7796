set lock_timeout = '5s';
do $$
begin
    create domain public.hex_color as text check (value ~ '^#[0-9a-fA-F]{6}$');
exception
    when duplicate_object then null;
end
$$;

do $$
begin
    if not exists (
        select 1 from pg_constraint
        where conname = 'projects_color_format' and conrelid = 'public.projects'::regclass
    ) then
        alter table public.projects
            add constraint projects_color_format check (color is null or color ~ '^#[0-9a-fA-F]{6}$') not valid;
    end if;
end
$$;

alter table public.projects validate constraint projects_color_format;
