update public.customers set tier = 'free';
