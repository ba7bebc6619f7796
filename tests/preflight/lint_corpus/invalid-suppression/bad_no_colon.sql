-- lint-ignore missing-grant because
select 1;
