create or replace view public.members as select id, email, raw_user_meta_data from auth.users;
