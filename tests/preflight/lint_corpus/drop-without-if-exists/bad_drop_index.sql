drop index concurrently public.customers_tier_idx;
