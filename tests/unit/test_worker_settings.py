from pathlib import Path

import pytest

from shortener_worker.settings import ConfigurationError, load_settings
from shortener_worker.webhooks.settings import load_webhook_settings


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


def test_click_ingestion_settings_default_sensibly_and_fail_fast(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    password = tmp_path / "pw"
    password.write_text("x")
    for name, value in {
        "DATABASE_HOST": "db",
        "DATABASE_NAME": "shortener",
        "DATABASE_USER": "app",
        "DATABASE_PASSWORD_FILE": str(password),
        "REDIS_HOST": "cache",
        "REDIS_PASSWORD_FILE": str(password),
    }.items():
        monkeypatch.setenv(name, value)

    settings = load_settings()
    assert settings.click_batch_size == 2000
    assert settings.click_ingest_interval_seconds == 1
    # A warm shutdown waits for one run: compose's stop_grace_period (60 s) exceeds this.
    assert settings.click_ingest_budget_seconds == 20
    assert settings.click_claim_idle_seconds == 60
    assert settings.click_max_deliveries == 5
    assert settings.click_retention_days == 90

    monkeypatch.setenv("CLICK_BATCH_SIZE", "0")
    monkeypatch.setenv("CLICK_RETENTION_DAYS", "none")
    with pytest.raises(ConfigurationError) as error:
        load_settings()
    assert "CLICK_BATCH_SIZE: Input should be greater than or equal to 1" in str(error.value)
    assert "CLICK_RETENTION_DAYS:" in str(error.value)


def test_the_webhook_sender_refuses_the_shorteners_own_hosts_and_bad_networks(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret")
    base = {
        "database_host": "database",
        "database_name": "shortener",
        "database_user": "app",
        "database_password_file": secret,
    }
    settings = load_webhook_settings(
        **base,
        public_base_url="https://Sho.rt/",
        webhook_refused_hosts="sho.rt.example, other.example",
        webhook_allowed_networks="10.251.8.0/24",
    )
    assert settings.refused_hosts == ["sho.rt", "sho.rt.example", "other.example"]
    assert [str(n) for n in settings.allowed_networks] == ["10.251.8.0/24"]
    with pytest.raises(ConfigurationError, match="WEBHOOK_ALLOWED_NETWORKS"):
        load_webhook_settings(**base, webhook_allowed_networks="10.0.0.0/8, not-a-network")
