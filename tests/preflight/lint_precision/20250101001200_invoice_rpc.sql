-- RPC used by the dashboard; called through PostgREST as /rpc/organization_balance.
create or replace function public.organization_balance(p_org uuid)
returns bigint
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
    v_total bigint;
begin
    select coalesce(sum(amount_cents), 0) into v_total
    from public.invoices
    where organization_id = p_org and status = 'open';
    return v_total;
end;
$$;

revoke execute on function public.organization_balance(uuid) from public, anon;
grant execute on function public.organization_balance(uuid) to authenticated, service_role;
