update public.customers set tier = 'free' where tier is null;
delete from public.events where created_at < now() - interval '90 days';
