alter table public.customers add foreign key (owner_id) references auth.users (id);
