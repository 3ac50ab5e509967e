-- backups.repository_info(): what `pgbackrest info` says of the repository, as JSON, and
-- backups.volume_usage(): how full the data and repository volumes are, for a role that may
-- not run programs: the worker reads both for its metrics
-- (worker/shortener_worker/backup_metrics.py, docs/backups.md, docs/monitoring.md).
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

-- The two volumes that grow: the data folder (PGDATA, pinned in docker-compose.yml) and
-- the backup repository. `df` sees the filesystem each lives on: on one Docker host
-- disk by default, so the cache's volume shares the numbers (docs/monitoring.md).
CREATE OR REPLACE FUNCTION backups.volume_usage()
RETURNS TABLE (volume text, size_bytes bigint, free_bytes bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET client_min_messages = warning
AS $function$
BEGIN
  CREATE TEMPORARY TABLE IF NOT EXISTS df_report (line text);
  TRUNCATE df_report;
  COPY df_report FROM PROGRAM
    'df --block-size=1 --output=file,size,avail /var/lib/postgresql/data /var/lib/pgbackrest'
    WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x1e');
  RETURN QUERY
    SELECT CASE fields[1] WHEN '/var/lib/pgbackrest' THEN 'backups' ELSE 'database' END,
           fields[2]::bigint, fields[3]::bigint
    FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS fields FROM df_report) AS rows
    WHERE fields[1] LIKE '/%';  -- not the header line
END
$function$;

REVOKE ALL ON FUNCTION backups.volume_usage() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION backups.volume_usage() TO :"app";
