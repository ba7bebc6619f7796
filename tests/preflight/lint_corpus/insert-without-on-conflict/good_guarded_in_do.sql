do $$
begin
  if not exists (select 1 from public.plans where code = 'team') then
    insert into public.plans (code, name) values ('team', 'Team');
  end if;
end $$;
