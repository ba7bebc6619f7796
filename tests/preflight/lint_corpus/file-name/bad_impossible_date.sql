-- corpus-file: 20251399143000_add_customer_tier.sql
select 1;
