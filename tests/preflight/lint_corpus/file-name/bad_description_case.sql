-- corpus-file: 20251209143000_Add-Customer-Tier.sql
select 1;
