-- corpus-file: 20251211000000_add_tier.sql
-- corpus-others: 20251209000000_migration_status_view.sql, 0070_legacy.sql
-- corpus-changed: true
select 1;
