drop trigger if exists customers_touch on public.customers;
create trigger customers_touch before update on public.customers
    for each row execute function public.touch_updated_at();
