set lock_timeout = '5s';
alter table public.customers add foreign key (owner_id) references auth.users (id) not valid;
