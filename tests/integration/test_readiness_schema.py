"""Not ready until migrated: api and worker report not-ready while the database lacks any
migration of their version, and ready once the migration job has run. An orchestrator
that ignores start order (Swarm) relies on it to keep them out of rotation."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from shortener.migrate.files import Migration
from shortener.migrate.runner import apply_migrations
from shortener.settings import Settings
from shortener_worker import runner
from shortener_worker.backends import redis_connection
from shortener_worker.settings import WorkerSettings
from tests.integration.containers import OWNER, Postgres

pytestmark = pytest.mark.integration

ServeApi = Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]


def migrate(postgres: Postgres, database: str, migrations: list[Migration]) -> None:
    with postgres.connect(OWNER, database) as conn:
        apply_migrations(conn, migrations)


@pytest.mark.anyio
async def test_api_is_not_ready_until_every_migration_is_applied(
    serve_api: ServeApi,
    make_api_settings: Callable[..., Settings],
    postgres: Postgres,
    scratch_database: str,
    schema: list[Migration],
) -> None:
    # The owner role on an empty database: what the api sees before the job has run.
    settings = make_api_settings(
        database_name=scratch_database,
        database_user=OWNER,
        database_password_file=postgres.password_file(OWNER),
    )
    async with serve_api(settings) as client:
        before = await client.get("/health/ready")
        migrate(postgres, scratch_database, schema[:-1])
        partly = await client.get("/health/ready")
        migrate(postgres, scratch_database, schema)
        after = await client.get("/health/ready")

    assert before.status_code == 503
    assert before.json()["checks"]["database"]["status"] == "fail"
    assert partly.status_code == 503
    assert partly.json()["checks"]["database"]["output"] == (
        f"schema lacks migration {schema[-1].version:04d}"
    )
    assert after.status_code == 200
    assert after.json()["checks"]["database"] == {
        "status": "pass",
        "schema_version": schema[-1].version,
    }


def test_worker_is_not_healthy_until_every_migration_is_applied(
    worker_settings: WorkerSettings,
    postgres: Postgres,
    scratch_database: str,
    schema: list[Migration],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = worker_settings.model_copy(
        update={
            "database_name": scratch_database,
            "database_user": OWNER,
            "database_password_file": SecretStr(
                postgres.password_file(OWNER).read_text(encoding="utf-8").strip()
            ),
        }
    )
    # A started worker (its name file written): only the schema stands in the way.
    name_file = tmp_path / "rq-worker-name"
    name_file.write_text("not-registered.abc123", encoding="utf-8")
    monkeypatch.setattr(runner, "NAME_FILE", name_file)
    with redis_connection(settings) as connection:
        before = runner.check_health(settings, connection)
        migrate(postgres, scratch_database, schema[:-1])
        partly = runner.check_health(settings, connection)
        migrate(postgres, scratch_database, schema)
        after = runner.check_health(settings, connection)

    assert before == "schema not migrated yet (no migrations.history)"
    assert partly == f"schema lacks migration {schema[-1].version:04d}"
    # Past the schema: the next check is the worker's heartbeat, which this one never had.
    assert after == "worker not-registered.abc123 is not registered in redis"
