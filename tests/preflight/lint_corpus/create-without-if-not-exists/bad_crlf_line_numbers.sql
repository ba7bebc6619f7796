-- saved on Windows (BOM, CRLF)
-- expect-line: 4
create table if not exists public.notes (id bigint primary key);
create index notes_id_idx on public.notes (id);
grant select on public.notes to authenticated, service_role;
revoke all on public.notes from anon, authenticated;
