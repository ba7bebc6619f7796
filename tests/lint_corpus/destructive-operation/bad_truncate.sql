truncate table public.events;
