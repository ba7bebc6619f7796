-- lint-ignore: file-name applied everywhere already; renaming would re-run it
-- corpus-file: 20251209_add_customer_tier.sql
select 1;
