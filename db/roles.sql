-- Least-privilege roles for the Vonage Secrets Gateway. Run once per cluster, as a superuser or a role
-- with CREATEROLE, BEFORE the first `npm run migrate`:
--     psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -f db/roles.sql
--     psql "$ADMIN_URL" -c 'create database vonage_gateway owner gateway_owner'
-- Passwords are set out of band (`\password gateway`) and never committed.
--
--   gateway_owner  owns the schema and runs the migrations (the Kubernetes migration Job);
--   gateway        the service at run time: INSERT and SELECT on the audit tables, no DDL, no UPDATE/DELETE;
--   auditor        security reviewers and `npm run audit`: SELECT only.
-- The grants themselves are in the migrations (db/migrations/*_grants.ts), so new tables get theirs.
do $$
begin
  if not exists (select from pg_roles where rolname = 'gateway_owner') then
    create role gateway_owner login;
  end if;
  if not exists (select from pg_roles where rolname = 'gateway') then
    create role gateway login;
  end if;
  if not exists (select from pg_roles where rolname = 'auditor') then
    create role auditor login;
  end if;
end
$$;
