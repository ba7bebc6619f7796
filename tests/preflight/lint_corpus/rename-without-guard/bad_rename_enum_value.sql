alter type public.customer_tier rename value 'pro' to 'professional';
