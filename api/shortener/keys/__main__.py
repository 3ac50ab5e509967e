"""python -m shortener.keys create NAME | revoke PREFIX | list

Runs inside the api container (`make api-key NAME=...`, `make revoke-key PREFIX=...`),
with the api's own settings and database role. The new key is printed once, to stdout,
and never logged or stored.
"""

import argparse
import sys

from shortener.backends import connect
from shortener.keys.store import create_key, list_keys, revoke_key
from shortener.settings import DatabaseSettings, load_settings

HELP = frozenset({"-h", "--help"})


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m shortener.keys")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key and print it once")
    create.add_argument("name", help="who or what the key is for")
    revoke = commands.add_parser("revoke", help="revoke a key by its prefix")
    revoke.add_argument("prefix")
    commands.add_parser("list", help="list keys (prefixes only)")
    # A prefix is 8 URL-safe characters and may start with "-" (one key in 64 does):
    # argparse would take "-_qCBSVJ" for an option. The one argument after the command is
    # always its value (a CI run met such a prefix: tests/unit/test_keys_cli.py).
    if len(argv) == 2 and argv[0] in ("create", "revoke") and argv[1] not in HELP:
        argv = [argv[0], "--", argv[1]]
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_arguments(argv)

    with connect(load_settings(DatabaseSettings), "shortener-keys") as conn:
        if args.command == "create":
            record, key = create_key(conn, args.name)
            print(key)
            print(
                f"created key {record.prefix} for {record.name!r}: store it now, it is "
                "not shown again",
                file=sys.stderr,
            )
        elif args.command == "revoke":
            record = revoke_key(conn, args.prefix)
            if record is None:
                print(f"no key has the prefix {args.prefix!r}", file=sys.stderr)
                return 1
            print(f"revoked key {record.prefix} ({record.name!r})", file=sys.stderr)
        else:
            for record in list_keys(conn):
                state = f"revoked {record.revoked_at:%Y-%m-%d}" if record.revoked_at else "active"
                print(f"{record.prefix}\t{state}\t{record.created_at:%Y-%m-%d}\t{record.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
