-- expect-line: 3
-- plans
insert into public.plans (code, name) values
    ('free', 'Free'),
    ('pro', 'Pro');
