-- corpus-file: 20251201000000_add_tier.sql
-- corpus-others: 20251209000000_migration_status_view.sql
-- corpus-changed: true
select 1;
