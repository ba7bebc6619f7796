-- Append-only audit trail written by triggers; nobody reads it through the API.
create table if not exists private.audit_log (
    id bigint generated always as identity primary key,
    table_name text not null,
    operation text not null,
    row_data jsonb,
    changed_by uuid default auth.uid(),
    changed_at timestamptz not null default now()
);

revoke all on private.audit_log from public, anon, authenticated;
grant select on private.audit_log to service_role;

create or replace function private.audit_row()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    insert into private.audit_log (table_name, operation, row_data)
    values (tg_table_name, tg_op, to_jsonb(coalesce(new, old)));
    return coalesce(new, old);
end;
$$;

drop trigger if exists invoices_audit on public.invoices;
create trigger invoices_audit
    after insert or update or delete on public.invoices
    for each row execute function private.audit_row();
