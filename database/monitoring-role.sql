-- The monitoring role the Postgres exporter connects as (docker-compose.monitoring.yml,
-- docs/monitoring.md): pg_monitor's read-only statistics and nothing else (no table of
-- the schema, no function of backups.*), three connections at most. Applied by
-- database/start.sh on every start while the monitoring file is in use, so the password
-- always matches its secret file. psql variables: monitor (the role), password (set on
-- standard input by start.sh, never on a command line).
SELECT format('CREATE ROLE %I LOGIN', :'monitor')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'monitor') \gexec
ALTER ROLE :"monitor" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  CONNECTION LIMIT 3 PASSWORD :'password';
GRANT pg_monitor TO :"monitor";
-- init-db revokes CONNECT from PUBLIC: the database's statistics need a session in it.
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'monitor') \gexec
