"""python -m shortener.keys create NAME [--scopes a,b] [--expires 30d] | revoke PREFIX | list

Runs inside the api container (`make api-key NAME=...`, `make revoke-key PREFIX=...`),
with the api's own settings and database role. The new key is printed once, to stdout,
and never logged or stored. A revoke writes the key's cache entry in Redis first
(keys/cache.py), so every replica refuses the key at its next request; with Redis
unreachable it revokes nothing and exits 1.
"""

import argparse
import sys
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError

from shortener.backends import connect
from shortener.keys.cache import mark_revoked_sync
from shortener.keys.scopes import ALL_SCOPES, ALL_SCOPES_IN_ORDER, parse_expiry, parse_scopes
from shortener.keys.store import create_key, find_key, list_keys, revoke_key
from shortener.settings import Settings, load_settings

HELP = frozenset({"-h", "--help"})
CACHE_TIMEOUT_SECONDS = 5.0


def _scopes(text: str) -> frozenset[str]:
    try:
        return parse_scopes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _expiry(text: str) -> datetime:
    try:
        return parse_expiry(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m shortener.keys")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key and print it once")
    create.add_argument("name", help="who or what the key is for")
    create.add_argument(
        "--scopes",
        type=_scopes,
        default=ALL_SCOPES,
        help=f"comma-separated, of {','.join(ALL_SCOPES_IN_ORDER)} (default: all)",
    )
    create.add_argument(
        "--expires",
        type=_expiry,
        default=None,
        help="30d, 12h, or a date-time such as 2027-01-01T00:00:00Z (default: never)",
    )
    revoke = commands.add_parser("revoke", help="revoke a key by its prefix")
    revoke.add_argument("prefix")
    commands.add_parser("list", help="list keys (prefixes, scopes, expiry; never the keys)")
    # A prefix is 8 URL-safe characters and may start with "-" (one key in 64 does):
    # argparse would take "-_qCBSVJ" for an option. The one argument after the command is
    # always its value, the options come after it (a CI run met such a prefix:
    # tests/unit/test_keys_cli.py).
    if len(argv) >= 2 and argv[0] in ("create", "revoke") and argv[1] not in HELP:
        argv = [argv[0], *argv[2:], "--", argv[1]]
    return parser.parse_args(argv)


def _moment(moment: datetime | None) -> str:
    return "never" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _cache(settings: Settings) -> Redis:
    return Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        password=settings.redis_password_file.get_secret_value(),
        client_name="shortener-keys",
        socket_timeout=CACHE_TIMEOUT_SECONDS,
        socket_connect_timeout=CACHE_TIMEOUT_SECONDS,
        decode_responses=True,
    )


def revoke(settings: Settings, prefix: str) -> int:
    """The cache entry first (keys/cache.py says why), then the database; 0 when revoked."""
    with connect(settings, "shortener-keys") as conn:
        stored = find_key(conn, prefix)
        if stored is None:
            print(f"no key has the prefix {prefix!r}", file=sys.stderr)
            return 1
        try:
            with _cache(settings) as cache:
                mark_revoked_sync(cache, stored.key_hash)
        except RedisError as error:
            print(
                f"not revoked: Redis is unreachable ({error}), and replicas could go on "
                "accepting the key from its cache entry; try again once Redis is back",
                file=sys.stderr,
            )
            return 1
        record = revoke_key(conn, prefix)
    assert record is not None  # found above; a key is never deleted
    print(f"revoked key {record.prefix} ({record.name!r})", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    args = parse_arguments(argv)
    settings = load_settings(Settings)
    if args.command == "revoke":
        return revoke(settings, args.prefix)
    with connect(settings, "shortener-keys") as conn:
        if args.command == "create":
            record, key = create_key(conn, args.name, args.scopes, args.expires)
            print(key)
            print(
                f"created key {record.prefix} for {record.name!r} ({','.join(record.scopes)}, "
                f"expires {_moment(record.expires_at)}): store it now, it is not shown again",
                file=sys.stderr,
            )
        else:
            print("prefix\tstate\tcreated\texpires\tscopes\tname")
            now = datetime.now(UTC)
            for record in list_keys(conn):
                if record.revoked_at:
                    state = f"revoked {record.revoked_at:%Y-%m-%d}"
                elif record.expires_at and record.expires_at <= now:
                    state = "expired"
                else:
                    state = "active"
                print(
                    f"{record.prefix}\t{state}\t{record.created_at:%Y-%m-%d}\t"
                    f"{_moment(record.expires_at)}\t{','.join(record.scopes)}\t{record.name}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
