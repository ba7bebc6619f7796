create constraint trigger customers_check after insert on public.customers
    deferrable initially deferred for each row execute function public.check_customer();
