-- lint-ignore: missing-grant internal staging table, read only by the nightly job as postgres
create table if not exists app.import_staging (id bigint primary key, raw jsonb);
