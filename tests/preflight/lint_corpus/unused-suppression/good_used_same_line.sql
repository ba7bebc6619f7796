create table if not exists app.import_staging (id bigint); -- lint-ignore: missing-grant only the import job reads it
