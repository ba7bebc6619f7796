-- corpus-private: app
-- A private schema needs no app-role grant, but service_role (the bot, backends) still reads it.
create table if not exists app.audit_rows (id bigint primary key);
