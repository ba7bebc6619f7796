insert into public.plan_features (plan_code, feature)
select code, 'export' from public.plans where code <> 'free';
