-- corpus-file: add_customer_tier.sql
select 1;
