#!/usr/bin/env bash
# Runs once, on the database's first boot (the postgres image's /docker-entrypoint-initdb.d
# contract), as the superuser. Creates the least-privilege roles the services use:
#
#   DATABASE_OWNER_USER  owns the schema; the migrate job connects as it (DDL).
#   DATABASE_APP_USER    api and worker connect as it: SELECT/INSERT/UPDATE/DELETE only.
#
# Passwords come from secret files and are read by psql itself (\set ... `cat file`), so
# they never appear on a command line, in the environment or in a log.
set -euo pipefail

: "${DATABASE_OWNER_USER:?set DATABASE_OWNER_USER (the schema owner role)}"
: "${DATABASE_APP_USER:?set DATABASE_APP_USER (the application role)}"
: "${DATABASE_OWNER_PASSWORD_FILE:?set DATABASE_OWNER_PASSWORD_FILE}"
: "${DATABASE_APP_PASSWORD_FILE:?set DATABASE_APP_PASSWORD_FILE}"
for secret in "$DATABASE_OWNER_PASSWORD_FILE" "$DATABASE_APP_PASSWORD_FILE"; do
  if [ ! -s "$secret" ]; then
    echo "init-db: secret file ${secret} is missing or empty" >&2
    exit 1
  fi
done

psql -v ON_ERROR_STOP=1 \
  --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=owner="$DATABASE_OWNER_USER" --set=app="$DATABASE_APP_USER" \
  --set=database="$POSTGRES_DB" <<'SQL'
\set owner_password `cat "$DATABASE_OWNER_PASSWORD_FILE"`
\set app_password `cat "$DATABASE_APP_PASSWORD_FILE"`

CREATE ROLE :"owner" LOGIN PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN PASSWORD :'app_password';

-- Nobody but our two roles may connect, to ours or to the maintenance database; nobody
-- may create objects in public.
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"owner", :"app";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- The application's schema belongs to the owner; both roles find it first on their path.
CREATE SCHEMA shortener AUTHORIZATION :"owner";
ALTER ROLE :"owner" IN DATABASE :"database" SET search_path = shortener;
ALTER ROLE :"app" IN DATABASE :"database" SET search_path = shortener;

-- The app may use the schema and, for every table the owner creates later, read and
-- write rows: no DDL, no TRUNCATE, no REFERENCES, no TRIGGER.
GRANT USAGE ON SCHEMA shortener TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA shortener
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA shortener
  GRANT USAGE, SELECT ON SEQUENCES TO :"app";

-- The migration history (shortener/migrate/runner.py): the app reads the schema version
-- for its readiness check, and may not write it.
CREATE SCHEMA migrations AUTHORIZATION :"owner";
GRANT USAGE ON SCHEMA migrations TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA migrations
  GRANT SELECT ON TABLES TO :"app";
SQL

echo "init-db: created roles ${DATABASE_OWNER_USER} (schema owner) and ${DATABASE_APP_USER} (DML only)"
