-- saved on Windows: byte-order mark and CRLF line ends
create table if not exists public.notes (id bigint primary key);
grant select on public.notes to authenticated, service_role;
revoke all on public.notes from anon, authenticated;
