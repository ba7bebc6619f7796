create table if not exists public.accounts (id uuid primary key, user_id uuid);
alter table public.accounts enable row level security;
grant select on public.accounts to authenticated, service_role;
do $$ begin
  if not exists (
    select 1 from pg_policies where tablename = 'accounts' and policyname = 'accounts: own rows'
  ) then
    execute $policy$
      create policy "accounts: own rows" on public.accounts for all
        using (auth.uid() = user_id) with check (auth.uid() = user_id)
    $policy$;
  end if;
end $$;
do $$ begin
  execute 'create policy "accounts: read" on public.accounts for select using (true)';
exception when duplicate_object then null;
end $$;
