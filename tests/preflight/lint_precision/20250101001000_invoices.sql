create sequence if not exists public.invoice_number_seq start with 1000;

-- uuid-ossp is installed in the extensions schema on every Supabase project.
create table if not exists public.invoice_events (
    id uuid primary key default uuid_generate_v4(),
    kind text not null
);
revoke all on public.invoice_events from anon, authenticated;
grant select, insert on public.invoice_events to service_role;

create table if not exists public.invoices (
    id uuid primary key default extensions.gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete restrict,
    number bigint not null default nextval('public.invoice_number_seq'),
    status public.invoice_status not null default 'draft',
    amount_cents bigint not null,
    issued_at timestamptz,
    paid_at timestamptz
);

create unique index if not exists invoices_number_key on public.invoices (number);

alter table public.invoices enable row level security;

drop policy if exists "Members read invoices" on public.invoices;
create policy "Members read invoices" on public.invoices
    for select to authenticated using (private.is_member(organization_id));

grant select on public.invoices to authenticated;
grant select, insert, update on public.invoices to service_role;
grant usage, select on sequence public.invoice_number_seq to service_role;
