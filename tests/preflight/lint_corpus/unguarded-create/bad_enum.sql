create type public.customer_tier as enum ('free', 'pro');
