-- expect-line: 2
select 'oops;
