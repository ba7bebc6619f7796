create table if not exists public.import_staging (id bigint); -- lint-ignore: missing-grant only the import job reads it
