-- lint-ignore: missing-grant, create-without-if-not-exists recreated on purpose by the import job
create table public.import_staging (id bigint);
revoke all on public.import_staging from anon, authenticated;
