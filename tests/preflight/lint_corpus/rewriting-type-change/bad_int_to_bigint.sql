-- approved-destructive: widening, every int fits in a bigint (OPS-77)
set lock_timeout = '5s';
alter table public.orders alter column quantity type bigint;
