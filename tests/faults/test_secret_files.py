"""A secret file that is empty: nothing starts on it, and the refusal names the secret.

A *missing* file is tests/e2e/test_prod_variant.py's
test_missing_secret_file_stops_startup_naming_it (`make prod-up` and plain `docker compose
up` both refuse). An *empty* one is subtler: Compose mounts it happily, so each service
must refuse it itself. `make up` (development) never gets that far: scripts/secrets.sh
replaces an empty file with a new random secret.
"""

from pathlib import Path

import pytest

from tests.e2e.stack import BASE_FILE, REPO, Stack, make_secrets, run
from tests.faults.conftest import PROD_FILES

pytestmark = pytest.mark.e2e

# What `make prod-up` runs.
PROD_UP = [str(REPO / "scripts" / "up.sh"), "--existing-secrets"] + [
    arg for path in PROD_FILES for arg in ("-f", str(path))
]


def test_prod_up_refuses_an_empty_secret_file_naming_it(tmp_path: Path) -> None:
    folder = make_secrets(tmp_path / "secrets")
    (folder / "database_app_password").write_text("")
    stack = Stack(folder, files=PROD_FILES)
    try:
        result = run(PROD_UP, env=stack.env, check=False)
        assert result.returncode != 0
        assert f"{folder / 'database_app_password'} (empty)" in result.stderr, result.stderr
        assert (folder / "database_app_password").read_text() == ""  # nothing generated
        assert stack.containers() == []  # nothing half-started
    finally:
        stack.down()


# service -> (the secret left empty, what its refusal must say: the variable or secret,
# and that it is empty). The api's settings code is also the migrate job's. The data
# stores read theirs in their images' entrypoints (the cache's checks its ACL file first:
# cache/start.sh); Postgres reads its superuser password only on the first boot
# (afterwards it is in the database): checked then, where the image's entrypoint (the
# official one, or the stand-in's that copies it) asks for a non-empty value.
REFUSALS = {
    "api": (
        "redis_password",
        ["REDIS_PASSWORD_FILE: secret file /run/secrets/redis_password is empty"],
    ),
    "worker": (
        "database_app_password",
        ["DATABASE_PASSWORD_FILE: secret file /run/secrets/database_app_password is empty"],
    ),
    "webhooks": (
        "database_app_password",
        ["DATABASE_PASSWORD_FILE: secret file /run/secrets/database_app_password is empty"],
    ),
    "cache": ("redis_users.acl", ["secret redis_users_acl is empty; not starting"]),
    "database": (
        "postgres_superuser_password",
        ["superuser password is not specified", "POSTGRES_PASSWORD", "to a non-empty value"],
    ),
}


@pytest.mark.parametrize("service", sorted(REFUSALS))
def test_service_refuses_an_empty_secret_naming_it(tmp_path: Path, service: str) -> None:
    secret, fragments = REFUSALS[service]
    folder = make_secrets(tmp_path / "secrets")
    (folder / secret).write_text("")
    # The base file alone: no proxy port, no dependencies started (--no-deps), so each
    # service meets the empty file on its own, as it would after a bad deploy.
    stack = Stack(folder)
    try:
        result = run(
            ["docker", "compose", "-f", str(BASE_FILE), "run", "--rm", "--no-deps", "-T", service],
            env=stack.env,
            check=False,
            timeout=120,
        )
        assert result.returncode != 0
        for fragment in fragments:
            assert fragment in result.stdout + result.stderr, result.stderr
    finally:
        stack.down()
