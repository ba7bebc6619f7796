-- Staging for the nightly import job, which connects as postgres; not part of the API.
-- lint-ignore: missing-grant only the nightly import job (postgres) uses this table
create table if not exists private.import_rows (
    id bigint generated always as identity primary key,
    source text not null,
    payload jsonb not null,
    imported_at timestamptz not null default now()
);

create index if not exists import_rows_source_idx on private.import_rows (source); -- by source for the job's lookups

delete from private.import_rows where imported_at < now() - interval '30 days';
