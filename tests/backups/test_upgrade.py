"""Drill: the PostgreSQL 17 -> 18 upgrade with data, and the way back (scripts/db-upgrade.sh,
docs/backups.md "Major upgrade"). A production-variant stack of its own: the upgrade
replaces its database, which the other drills' stack must keep."""

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.backups.conftest import PROD_FILES, BackupStack, shorten
from tests.e2e.stack import REPO, make_secrets, run
from tests.faults.traffic import wait_until

pytestmark = pytest.mark.e2e

# The data size the downtime is measured for (docs/backups.md): seeded with SQL as the
# schema owner, beside the links, key and clicks made through the api.
SEEDED_LINKS = 20_000
SEEDED_CLICKS = 100_000
SEED = """
SET ROLE shortener_owner;
INSERT INTO shortener.links (code, url)
  SELECT 'seed' || n, 'https://example.org/seed/' || n FROM generate_series(1, :links) n;
INSERT INTO shortener.clicks (stream_id, link_id, clicked_at, referrer_host, agent_family,
                              is_bot)
  SELECT '1700000000000-' || n, l.id, now() - n * interval '1 minute',
         'ref' || n % 50 || '.example', 'firefox', n % 10 = 0
  FROM generate_series(1, :clicks) n JOIN shortener.links l ON l.code = 'seed' || 1 + n % :links;
INSERT INTO shortener.click_totals (link_id, clicks, bot_clicks)
  SELECT link_id, count(*), count(*) FILTER (WHERE is_bot) FROM shortener.clicks
  WHERE stream_id LIKE '1700000000000-%' GROUP BY link_id;
INSERT INTO shortener.click_days (link_id, day, clicks, bot_clicks)
  SELECT link_id, clicked_at::date, count(*), count(*) FILTER (WHERE is_bot)
  FROM shortener.clicks WHERE stream_id LIKE '1700000000000-%' GROUP BY 1, 2;
"""
CLICKS = "SELECT coalesce(sum(clicks), 0) FROM shortener.click_totals"


# Every row, by table: count and checksum; the identity counters too (the next link's id).
ROWS = """
SELECT 'links', count(*), md5(string_agg(concat_ws('|', id, code, url, owner_id, expires_at,
       redirect_type, max_visits, visit_count), ',' ORDER BY id)) FROM shortener.links
UNION ALL SELECT 'api_keys', count(*), md5(string_agg(concat_ws('|', id, name, prefix,
       encode(key_hash, 'hex'), revoked_at), ',' ORDER BY id)) FROM shortener.api_keys
UNION ALL SELECT 'clicks', count(*), md5(string_agg(concat_ws('|', stream_id, link_id,
       clicked_at, referrer_host, is_bot), ',' ORDER BY stream_id)) FROM shortener.clicks
UNION ALL SELECT 'click_totals', sum(clicks), md5(string_agg(concat_ws('|', link_id, clicks,
       bot_clicks), ',' ORDER BY link_id)) FROM shortener.click_totals
UNION ALL SELECT 'click_days', sum(clicks), md5(string_agg(concat_ws('|', link_id, day, clicks),
       ',' ORDER BY link_id, day)) FROM shortener.click_days
UNION ALL SELECT 'migrations', count(*), string_agg(version::text, ',' ORDER BY version)
       FROM migrations.history
UNION ALL SELECT 'next link id', last_value, is_called::text FROM shortener.links_id_seq;
"""
# Who may do what: roles with their password hashes, every database's rights, per-database
# role settings, default privileges, schema and table owners and rights (ACL entries sorted:
# a restore may list the same rights in another order).
RIGHTS = """
SELECT rolname, rolsuper, rolcanlogin, rolcreaterole, rolpassword FROM pg_authid
  WHERE rolname !~ '^pg_' ORDER BY 1;
SELECT datname, pg_get_userbyid(datdba),
       (SELECT array_agg(a::text ORDER BY a::text) FROM unnest(datacl) a)
  FROM pg_database ORDER BY 1;
SELECT d.datname, r.rolname, s.setconfig FROM pg_db_role_setting s
  JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase
  ORDER BY 1, 2;
SELECT pg_get_userbyid(defaclrole), defaclnamespace::regnamespace::text, defaclobjtype,
       (SELECT array_agg(a::text ORDER BY a::text) FROM unnest(defaclacl) a) FROM pg_default_acl
  ORDER BY 1, 2, 3;
SELECT nspname, pg_get_userbyid(nspowner),
       (SELECT array_agg(a::text ORDER BY a::text) FROM unnest(nspacl) a) FROM pg_namespace
  WHERE nspname IN ('public', 'shortener', 'migrations') ORDER BY 1;
SELECT relnamespace::regnamespace::text, relname, pg_get_userbyid(relowner),
       (SELECT array_agg(a::text ORDER BY a::text) FROM unnest(relacl) a) FROM pg_class
  WHERE relnamespace::regnamespace::text IN ('shortener', 'migrations')
  AND relkind IN ('r', 'S') ORDER BY 1, 2;
"""


@dataclass
class UpgradeStack(BackupStack):
    # The database settings scripts/db-upgrade.sh wrote (POSTGRES_IMAGE, DATABASE_IMAGE,
    # DATABASE_VOLUME): every later compose command runs with them, as `make` would.
    settings: dict[str, str] = field(default_factory=dict)
    settings_file: Path = Path("/nonexistent")

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, **self.settings}

    def db_upgrade(self, *args: str, check: bool = True) -> str:
        """scripts/db-upgrade.sh with this stack's files and settings file; its output."""
        files = self.file_args
        script = str(REPO / "scripts" / "db-upgrade.sh")
        command = [script, *args, "--settings", str(self.settings_file), *files]
        finished = run(command, self.env, check, timeout=900)
        output = finished.stdout + finished.stderr
        if finished.returncode == 0:
            self.adopt_settings()
        return output

    def adopt_settings(self) -> None:
        keys = ("POSTGRES_IMAGE", "DATABASE_IMAGE", "DATABASE_VOLUME")
        lines = self.settings_file.read_text().splitlines()
        self.settings = {
            key: value for key, _, value in (line.partition("=") for line in lines) if key in keys
        }

    def recorded(self, key: str) -> str:
        """A setting of the settings file (e.g. the way back's DATABASE_PREVIOUS_IMAGE)."""
        lines = self.settings_file.read_text().splitlines()
        return next(line.split("=", 1)[1] for line in lines if line.startswith(f"{key}="))

    def server_major(self) -> int:
        return int(self.sql("SHOW server_version_num")) // 10000

    def fingerprint(self) -> tuple[str, str]:
        return self.sql(ROWS), self.sql(RIGHTS)

    def start_database_with(self, **settings: str) -> str:
        """The database service's entrypoint in a one-off container with other settings, as
        `make up` with lost or wrong settings would start it: its output (it must refuse)."""
        files = self.file_args
        finished = run(
            ["docker", "compose", *files, "run", "--rm", "--no-deps", "-T", "database"],
            {**self.env, **settings},
            check=False,
            timeout=120,
        )
        assert finished.returncode != 0, "the database started on data it must refuse"
        return finished.stdout + finished.stderr

    def backup_databases(self) -> dict[str, list[str]]:
        """pgBackRest's view: each PostgreSQL version in the stanza and its backups' types."""
        info = json.loads(
            self.exec("database", "pgbackrest", "--stanza=shortener", "--output=json", "info")
        )[0]
        versions = {db["id"]: db["version"] for db in info["db"]}
        backups: dict[str, list[str]] = {}
        for backup in info["backup"]:
            backups.setdefault(versions[backup["database"]["id"]], []).append(backup["type"])
        return backups


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpgradeStack]:
    name = f"shortener-upgrade-{secrets.token_hex(3)}"
    stack = UpgradeStack(
        make_secrets(tmp_path_factory.mktemp("upgrade-secrets")),
        files=PROD_FILES,
        name=name,
        settings_file=tmp_path_factory.mktemp("upgrade-settings") / "database.env",
        # Database images of its own: other stacks rebuild shortener/database:local meanwhile.
        settings={"DATABASE_IMAGE": f"{name}/database:local"},
    )
    try:
        with stack.running():
            yield stack
    finally:
        # Volumes the compose file declares but the settings of the moment do not use (the
        # other major's data, the 18 image's anonymous one) are not in `down --volumes`.
        volumes = run(
            ["docker", "volume", "ls", "-q", "--filter", f"name={stack.name}_"], check=False
        ).stdout.split()
        if volumes:
            run(["docker", "volume", "rm", *volumes], check=False)
        images = run(["docker", "image", "ls", "-q", f"{name}/database"], check=False)
        if images.stdout.split():
            run(["docker", "image", "rm", "--force", *set(images.stdout.split())], check=False)


def redirects(stack: UpgradeStack, codes: list[str]) -> set[int]:
    with stack.client() as visitor:
        return {visitor.get(f"/{code}").status_code for code in codes}


def test_the_upgrade_keeps_every_row_and_right_and_the_way_back_works(
    stack: UpgradeStack,
) -> None:
    api_key = stack.create_api_key("upgrade")
    with stack.client(api_key) as client:
        codes = shorten(client, "before-upgrade", 5)
        for code in codes:
            client.get(f"/{code}")
    wait_until(lambda: stack.sql(CLICKS) == "5", 60)  # ingested, in Postgres
    stack.sql(SEED, links=str(SEEDED_LINKS), clicks=str(SEEDED_CLICKS))
    size = stack.sql("SELECT pg_size_pretty(pg_database_size('shortener'))")
    before = stack.fingerprint()
    assert stack.server_major() == 17

    refused = stack.db_upgrade("upgrade", check=False)
    assert "add --confirm (make db-upgrade CONFIRM=yes)" in refused
    assert stack.server_major() == 17

    output = stack.db_upgrade("upgrade", "--confirm")
    print("\n".join(line for line in output.splitlines() if line.startswith("db-upgrade:")))
    downtime = re.search(r"downtime: ([\d.]+) s", output)
    assert downtime, output
    print(
        f"upgrade 17 -> 18 of {SEEDED_LINKS + 5} links, {SEEDED_CLICKS + 5} clicks ({size}):"
        f" {downtime.group(1)} s of downtime"
    )
    assert stack.settings["DATABASE_VOLUME"] == "database-data-18"
    assert stack.server_major() == 18
    rows, rights = stack.fingerprint()
    assert rows == before[0]  # every link, key and click total
    assert rights == before[1]  # roles, passwords, grants, default privileges
    stack.forget_cached_links()  # the redirects below come from the new server
    assert redirects(stack, codes) == {302}
    # Their clicks ingested on 18 (not left in the stream for 17 after the way back).
    wait_until(lambda: stack.sql(CLICKS) == str(5 + SEEDED_CLICKS + 5), 60)
    with stack.client(api_key) as client:  # the key authenticates: a write
        written_on_18 = shorten(client, "after-upgrade", 1)
    # The app role: still no DDL, and the owner's new tables still readable and writable to
    # it (default privileges).
    assert "permission denied for schema shortener" in stack.as_app_role(
        "CREATE TABLE shortener.nope (n int)"
    )
    stack.sql("SET ROLE shortener_owner; CREATE TABLE shortener.after_upgrade (n int)")
    assert stack.as_app_role("INSERT INTO after_upgrade VALUES (1)").strip() == "INSERT 0 1"
    # Backups follow: the stanza upgraded, archiving works, a full backup of 18 exists.
    assert "archiving works" in stack.backup("check")
    assert "full" in stack.backup_databases()["18"]

    # A PostgreSQL 17 server never serves what the upgrade left: not the 18 data, not the
    # superseded 17 data (the settings lost).
    seventeen = {
        "POSTGRES_IMAGE": stack.recorded("DATABASE_PREVIOUS_POSTGRES_IMAGE"),
        "DATABASE_IMAGE": stack.recorded("DATABASE_PREVIOUS_IMAGE"),
    }
    on_18_data = stack.start_database_with(**seventeen, DATABASE_VOLUME="database-data-18")
    assert "is PostgreSQL 18's and this image runs PostgreSQL 17" in on_18_data
    on_old_data = stack.start_database_with(**seventeen, DATABASE_VOLUME="database-data")
    assert "this data folder was upgraded: PostgreSQL 18 in volume" in on_old_data

    # The way back: 17 on its untouched volume, the data exactly as before the upgrade.
    output = stack.db_upgrade("rollback", "--confirm")
    assert "rolled back to PostgreSQL 17" in output
    assert stack.settings["DATABASE_VOLUME"] == "database-data"
    assert stack.server_major() == 17
    assert stack.fingerprint() == before
    stack.forget_cached_links()
    assert redirects(stack, codes) == {302}
    assert redirects(stack, written_on_18) == {404}  # made after the upgrade: not carried back
    with stack.client(api_key) as client:
        assert shorten(client, "after-rollback", 1)
    assert "archiving works" in stack.backup("check")
    assert "full" in stack.backup_databases()["17"]


def test_an_upgrade_never_starts_on_a_database_that_is_not_running(
    stack: UpgradeStack,
) -> None:
    settings = stack.settings_file.read_text()
    stack.compose("stop", "database")
    try:
        refused = stack.db_upgrade("upgrade", "--confirm", check=False)
        assert "the database does not answer" in refused
        assert stack.settings_file.read_text() == settings  # nothing switched
    finally:
        stack.compose("up", "--detach", "--wait", "database")


def test_a_rollback_without_an_upgrade_recorded_is_refused(
    stack: UpgradeStack, tmp_path: Path
) -> None:
    empty = UpgradeStack(stack.secrets_dir, files=stack.files, name=stack.name)
    empty.settings_file = tmp_path / "none.env"
    refused = empty.db_upgrade("rollback", "--confirm", check=False)
    assert "records no upgrade to go back from" in refused
    httpx.get(stack.base_url + "/health/live", timeout=5).raise_for_status()
