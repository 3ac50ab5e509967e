#!/usr/bin/env bash
# First boot: the backup repository's stanza for this database, so that WAL archiving
# (archive_command, docker-compose.yml) works from the first segment (docs/backups.md).
# An older volume gets it when the database starts (database/start.sh).
set -euo pipefail
pgbackrest --stanza=shortener stanza-create
