insert into public.plan_features (plan_code, feature)
select 'pro', 'export'
where not exists (select 1 from public.plan_features where plan_code = 'pro' and feature = 'export');
