-- expect-line: 2
drop extension if exists citext cascade;
