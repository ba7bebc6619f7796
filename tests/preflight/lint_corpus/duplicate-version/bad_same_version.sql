-- corpus-file: 20251209143000_add_tier.sql
-- corpus-others: 20251209143000_add_region.sql, 20251201000000_init.sql
select 1;
