from pathlib import Path

import pytest

from shortener_worker.settings import ConfigurationError, load_settings


def test_worker_names_the_missing_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("x")
    monkeypatch.setenv("DATABASE_HOST", "db")
    monkeypatch.setenv("DATABASE_NAME", "shortener")
    monkeypatch.setenv("DATABASE_USER", "app")
    monkeypatch.setenv("DATABASE_PASSWORD_FILE", str(password))
    monkeypatch.setenv("REDIS_HOST", "cache")
    monkeypatch.setenv("REDIS_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError, match=r"REDIS_PASSWORD_FILE: secret file .* not exist"):
        load_settings()
