create role reporting nologin;
