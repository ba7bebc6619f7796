insert into public.plan_features (plan_code, feature)
select code, 'export' from public.plans
where code not in (select plan_code from public.plan_features where feature = 'export');
