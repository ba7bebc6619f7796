drop schema if exists staging cascade;
