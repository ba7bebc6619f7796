-- approved-destructive:
select 1;
