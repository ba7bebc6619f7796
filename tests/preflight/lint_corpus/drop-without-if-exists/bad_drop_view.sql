drop view public.active_customers;
