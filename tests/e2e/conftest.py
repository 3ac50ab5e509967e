"""The e2e tier: one stack for the session, built from the working tree."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import REPO, Stack, run


def make_secrets(directory: Path) -> Path:
    run([str(REPO / "scripts" / "secrets.sh"), str(directory)])
    return directory


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(make_secrets(tmp_path_factory.mktemp("secrets")))
    # Build once for the session; other projects in the tests reuse these images.
    stack.compose("build", timeout=900)
    try:
        stack.up()
    except AssertionError:
        print(stack.logs())
        stack.down()
        raise
    yield stack
    stack.down()


@pytest.fixture
def client(stack: Stack) -> Iterator:
    with stack.client() as client:
        yield client


@pytest.fixture
def fresh_secrets(tmp_path: Path) -> Path:
    return make_secrets(tmp_path / "secrets")
