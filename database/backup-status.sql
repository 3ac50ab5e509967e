-- backups.repository_info(): what `pgbackrest info` says of the repository, as JSON, for
-- a role that may not run programs: the worker reads it for its backup metrics
-- (worker/shortener_worker/backup_metrics.py, docs/backups.md).
--
-- Why a function in the database: pgBackRest runs in this container only (it reads the
-- data folder); the worker reaches the database and nothing else of it. SECURITY DEFINER
-- runs the one fixed command as the superuser; callers pass nothing into it. Applied by
-- database/start.sh on every start (idempotent), so older volumes and restored ones get
-- it too. psql variable: app (the role granted EXECUTE).
CREATE SCHEMA IF NOT EXISTS backups;
REVOKE ALL ON SCHEMA backups FROM PUBLIC;
GRANT USAGE ON SCHEMA backups TO :"app";

CREATE OR REPLACE FUNCTION backups.repository_info() RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
-- No caller's search path; no "already exists" notice on a session's second call.
SET search_path = pg_catalog, pg_temp
SET client_min_messages = warning
AS $function$
DECLARE
  report text;
BEGIN
  CREATE TEMPORARY TABLE IF NOT EXISTS pgbackrest_info (line text);
  TRUNCATE pgbackrest_info;
  -- CSV with a delimiter and quote that JSON never holds: each line read as it is.
  COPY pgbackrest_info FROM PROGRAM 'pgbackrest --stanza=shortener --output=json info'
    WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x1e');
  SELECT string_agg(line, E'\n') INTO report FROM pgbackrest_info;
  -- One stanza asked for: the list's only element.
  RETURN report::jsonb -> 0;
END
$function$;

REVOKE ALL ON FUNCTION backups.repository_info() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION backups.repository_info() TO :"app";
