-- corpus-prior: create table if not exists public.signups (id bigint primary key, email text);
-- An earlier file made the table without row level security: this grant hands its rows to the public key.
grant insert, select on public.signups to anon;
