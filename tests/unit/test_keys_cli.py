"""`python -m shortener.keys`: its arguments, as `make api-key` and `make revoke-key` pass
them (api/shortener/keys/__main__.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from shortener.keys.__main__ import parse_arguments
from shortener.keys.scopes import ALL_SCOPES


@pytest.mark.parametrize("prefix", ["AbCd1234", "-_qCBSVJ", "--abcdef"])
def test_any_prefix_is_taken_as_the_prefix(prefix: str) -> None:
    """A key's prefix starts with "-" once in 64 keys: a CI run revoked "-_qCBSVJ" and
    argparse took it for an option."""
    args = parse_arguments(["revoke", prefix])
    assert (args.command, args.prefix) == ("revoke", prefix)


def test_a_name_may_start_with_a_dash() -> None:
    assert parse_arguments(["create", "-ops"]).name == "-ops"


def test_help_is_still_help() -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_arguments(["revoke", "--help"])
    assert exit_info.value.code == 0


@pytest.mark.parametrize("name", ["alice", "-ops", "--ops"])
def test_options_come_after_the_name_whatever_it_starts_with(name: str) -> None:
    args = parse_arguments(
        ["create", name, "--scopes", "links:read,stats:read", "--expires", "30d"]
    )
    assert args.name == name
    assert args.scopes == {"links:read", "stats:read"}
    assert args.expires > datetime.now(UTC) + timedelta(days=29)


def test_a_new_key_has_every_scope_and_no_expiry_by_default() -> None:
    args = parse_arguments(["create", "alice"])
    assert args.scopes == ALL_SCOPES
    assert args.expires is None


@pytest.mark.parametrize(
    "options", [["--scopes", "links:delete"], ["--scopes", ""], ["--expires", "soon"]]
)
def test_bad_scopes_or_expiry_stop_the_command(
    options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_arguments(["create", "alice", *options])
    assert exit_info.value.code == 2
    assert options[0] in capsys.readouterr().err
