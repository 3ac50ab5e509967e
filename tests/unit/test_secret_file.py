"""A secret file read again at each use (api/shortener/settings.py, the worker's twin):
what lets `make rotate-secrets` change a password without restarting anything."""

from pathlib import Path

import pytest

from shortener.settings import SecretFile
from shortener_worker.settings import SecretFile as WorkerSecretFile


@pytest.mark.parametrize("secret_file", [SecretFile, WorkerSecretFile])
def test_a_rewritten_file_gives_the_new_value_and_an_emptied_one_the_last(
    tmp_path: Path, secret_file: type[SecretFile]
) -> None:
    path = tmp_path / "redis_password"
    path.write_text("old-value\n")
    secret = secret_file(path)
    assert secret.get_secret_value() == "old-value"
    # Rewritten in place, as scripts/rotate-secrets.sh does: the next read has it.
    path.write_text("new-value\n")
    assert secret.get_secret_value() == "new-value"
    # Caught between the truncation and the write (or gone): the last value read.
    path.write_text("")
    assert secret.get_secret_value() == "new-value"
    path.unlink()
    assert secret.get_secret_value() == "new-value"
    assert "new-value" not in repr(secret)


def test_a_missing_file_at_startup_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"secret file .*/absent does not exist"):
        SecretFile(tmp_path / "absent")
