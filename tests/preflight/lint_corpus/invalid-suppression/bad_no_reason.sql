-- lint-ignore: missing-grant
select 1;
