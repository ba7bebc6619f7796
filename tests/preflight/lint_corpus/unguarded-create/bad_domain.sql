create domain public.email as text check (value ~ '@');
