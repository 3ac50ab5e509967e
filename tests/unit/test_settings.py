from pathlib import Path

import pytest

from shortener.settings import ConfigurationError, load_settings


def test_valid_environment_reads_secrets_from_files(settings_env: None) -> None:
    settings = load_settings()
    assert settings.database_password_file.get_secret_value() == "database_password-value"
    assert settings.redis_password_file.get_secret_value() == "redis_password-value"
    assert settings.short_url_prefix == "https://sho.rt/"


def test_secret_values_never_appear_in_repr(settings_env: None) -> None:
    settings = load_settings()
    assert "database_password-value" not in repr(settings)
    assert "redis_password-value" not in str(settings.model_dump())


def test_missing_variable_is_named(settings_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_HOST")
    with pytest.raises(ConfigurationError) as error:
        load_settings()
    assert "DATABASE_HOST: is required but not set" in str(error.value)


def test_missing_secret_file_is_named(
    settings_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REDIS_PASSWORD_FILE", str(tmp_path / "nope"))
    with pytest.raises(ConfigurationError) as error:
        load_settings()
    message = str(error.value)
    assert "REDIS_PASSWORD_FILE" in message
    assert "does not exist" in message


def test_empty_secret_file_is_refused(
    settings_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    monkeypatch.setenv("DATABASE_PASSWORD_FILE", str(empty))
    with pytest.raises(ConfigurationError, match=r"DATABASE_PASSWORD_FILE: secret file .* empty"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_PORT", "seventy"),
        ("CODE_LENGTH", "2"),
        ("PUBLIC_BASE_URL", "not a url"),
        ("GEOIP_DATABASE_FILE", "relative/country.mmdb"),
        ("GEOIP_DATABASE_FILE", "/tmp"),  # a folder
        ("COUNTRY_HEADER", "CF IPCountry"),
        ("COUNTRY_HEADER", "X-Country:"),
    ],
)
def test_invalid_values_are_named(
    settings_env: None, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        load_settings()


def test_missing_blocklist_file_stops_the_app_naming_the_setting(
    settings_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from shortener.app import create_app

    monkeypatch.setenv("BLOCKED_HOSTS_FILE", str(tmp_path / "absent.txt"))
    with pytest.raises(ConfigurationError, match=r"BLOCKED_HOSTS_FILE: .* not exist"):
        create_app(load_settings())


def test_blocklist_file_is_applied(
    settings_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from shortener.app import load_target_policy

    blocklist = tmp_path / "blocked.txt"
    blocklist.write_text("# phishing\nevil.example\n")
    monkeypatch.setenv("BLOCKED_HOSTS_FILE", str(blocklist))
    policy = load_target_policy(load_settings())
    assert policy.refusal("login.evil.example") == "points at a blocked host"
    assert policy.refusal("sho.rt") == "must not point at this shortener"


def test_country_sources_are_optional(
    settings_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Compose passes `${GEOIP_DATABASE_FILE:-}`: empty is none, like unset.
    monkeypatch.setenv("GEOIP_DATABASE_FILE", "")
    assert load_settings().geoip_database_file is None
    # A file not there yet is fine: it is picked up once it appears (clicks/countries.py).
    monkeypatch.setenv("GEOIP_DATABASE_FILE", str(tmp_path / "later.mmdb"))
    monkeypatch.setenv("COUNTRY_HEADER", "CF-IPCountry")
    settings = load_settings()
    assert (settings.geoip_database_file, settings.country_header) == (
        tmp_path / "later.mmdb",
        "CF-IPCountry",
    )
