-- Avatars bucket and its object policies.
insert into storage.buckets (id, name, public)
values ('avatars', 'avatars', true)
on conflict (id) do nothing;

insert into storage.buckets (id, name, public)
select 'exports', 'exports', false
where not exists (select 1 from storage.buckets where id = 'exports');

drop policy if exists "Avatar images are publicly accessible" on storage.objects;
create policy "Avatar images are publicly accessible"
    on storage.objects for select
    using (bucket_id = 'avatars');

drop policy if exists "Users upload their own avatar" on storage.objects;
create policy "Users upload their own avatar"
    on storage.objects for insert to authenticated
    with check (bucket_id = 'avatars' and owner = (select auth.uid()));

drop policy if exists "Users read their own exports" on storage.objects;
create policy "Users read their own exports"
    on storage.objects for select to authenticated
    using (bucket_id = 'exports' and (storage.foldername(name))[1] = (select auth.uid())::text);
