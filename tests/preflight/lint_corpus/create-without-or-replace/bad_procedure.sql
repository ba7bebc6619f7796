create procedure public.refresh_counts() language sql as $$ refresh materialized view public.customer_counts $$;
