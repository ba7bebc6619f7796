create type public.money_amount as (amount numeric, currency text);
