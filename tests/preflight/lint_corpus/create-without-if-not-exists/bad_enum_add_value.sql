alter type public.customer_tier add value 'enterprise';
