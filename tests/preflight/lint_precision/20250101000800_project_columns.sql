set lock_timeout = '5s';
-- New optional columns, then a backfill that only touches rows still empty.
alter table public.projects
    add column if not exists color text,
    add column if not exists starts_on date,
    add column if not exists ends_on date;

alter table public.projects drop constraint if exists projects_dates_check;
alter table public.projects
    add constraint projects_dates_check check (ends_on is null or starts_on is null or ends_on >= starts_on) not valid;
alter table public.projects validate constraint projects_dates_check;

update public.projects set color = '#3ecf8e' where color is null;

comment on column public.projects.color is 'Hex colour shown in the sidebar';
