from pathlib import Path

import pytest

from shortener.settings import Settings, load_settings


@pytest.fixture
def secret_files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for name in ("database_password", "redis_password"):
        path = tmp_path / name
        path.write_text(f"{name}-value\n")
        files[name] = path
    return files


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, secret_files: dict[str, Path]) -> None:
    """A complete, valid API environment pointing at hosts that do not exist."""
    for key in list(__import__("os").environ):
        if key.startswith(("DATABASE_", "REDIS_", "PUBLIC_", "CODE_", "LOG_")):
            monkeypatch.delenv(key)
    env = {
        "DATABASE_HOST": "db.invalid",
        "DATABASE_NAME": "shortener",
        "DATABASE_USER": "shortener_app",
        "DATABASE_PASSWORD_FILE": str(secret_files["database_password"]),
        "REDIS_HOST": "cache.invalid",
        "REDIS_PASSWORD_FILE": str(secret_files["redis_password"]),
        "PUBLIC_BASE_URL": "https://sho.rt",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def settings(settings_env: None) -> Settings:
    return load_settings()
