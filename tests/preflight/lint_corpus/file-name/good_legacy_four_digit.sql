-- corpus-file: 0042_legacy_tracker_row.sql
select 1;
