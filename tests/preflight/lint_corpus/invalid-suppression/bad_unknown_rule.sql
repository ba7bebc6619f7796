-- lint-ignore: idempotency it is fine
select 1;
