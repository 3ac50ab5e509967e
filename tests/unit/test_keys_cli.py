"""`python -m shortener.keys`: its arguments, as `make api-key` and `make revoke-key` pass
them (api/shortener/keys/__main__.py)."""

import pytest

from shortener.keys.__main__ import parse_arguments


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
