-- expect-line: 6
set lock_timeout = '5s';
do $$
begin
    perform 1;
    raise notic 'hello';
end $$;
