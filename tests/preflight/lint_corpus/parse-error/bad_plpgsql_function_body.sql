-- expect-line: 8
create or replace function public.sign(p int) returns int language plpgsql set search_path = '' as $$
declare
    result int;
begin
    if p > 0 then
        result := 1;
    end;
    return result;
end $$;
