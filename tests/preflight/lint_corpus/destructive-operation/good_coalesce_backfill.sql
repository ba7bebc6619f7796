update public.orders set status = coalesce(status, 'open'), note = coalesce(orders.note, '');
