delete from public.events;
