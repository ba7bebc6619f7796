create sequence public.invoice_number_seq;
