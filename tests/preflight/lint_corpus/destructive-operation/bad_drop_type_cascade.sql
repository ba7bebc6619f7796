-- expect-line: 3
-- CASCADE drops every column of the type, with its data, in whatever table uses it.
drop type if exists public.mood cascade;
