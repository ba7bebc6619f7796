insert into public.plans (code, name) values ('free', 'Free'), ('pro', 'Pro')
on conflict (code) do update set name = excluded.name;
insert into public.plans (code, name) values ('team', 'Team') on conflict do nothing;
