drop function public.customer_count();
