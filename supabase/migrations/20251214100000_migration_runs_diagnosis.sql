-- The diagnosis of a failed run, with the catalog facts CI read (dragonfly-bot record-run):
-- one versioned JSON record ({"schema": 1, "file", "sqlstate", "category", "confidence",
-- "hint", "facts": {...}}). NULL for applied rows and for rows recorded before this column.
--
-- Safe to apply twice.

alter table public.migration_runs add column if not exists diagnosis jsonb;

comment on column public.migration_runs.diagnosis is
    'dragonfly-bot diagnosis record of a failed run (versioned JSON: schema, hint, confidence, catalog facts)';
