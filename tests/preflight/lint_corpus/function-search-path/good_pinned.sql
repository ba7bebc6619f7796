create or replace function public.touch_updated_at() returns trigger language plpgsql set search_path = '' as $$
begin
    new.updated_at := pg_catalog.now();
    return new;
end $$;
