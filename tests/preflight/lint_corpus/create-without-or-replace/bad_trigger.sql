create or replace function public.touch_updated_at() returns trigger language plpgsql as $$
begin new.updated_at := now(); return new; end $$;
create trigger customers_touch before update on public.customers
    for each row execute function public.touch_updated_at();
