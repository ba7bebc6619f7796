do $$
begin
  insert into public.plans (code, name) values ('team', 'Team');
end $$;
