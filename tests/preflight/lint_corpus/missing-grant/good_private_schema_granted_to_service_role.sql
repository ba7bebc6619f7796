-- corpus-private: app
create table if not exists app.audit_rows (id bigint primary key);
grant select, insert on app.audit_rows to service_role;
