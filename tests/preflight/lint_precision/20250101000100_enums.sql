-- Enum types have no IF NOT EXISTS: create them in a guarded DO block.
do $$
begin
    create type public.membership_role as enum ('owner', 'admin', 'member');
exception
    when duplicate_object then null;
end
$$;

do $$
begin
    if not exists (
        select 1
        from pg_type t
        join pg_namespace n on n.oid = t.typnamespace
        where n.nspname = 'public' and t.typname = 'invoice_status'
    ) then
        create type public.invoice_status as enum ('draft', 'open', 'paid', 'void');
    end if;
end
$$;

alter type public.invoice_status add value if not exists 'uncollectible';
