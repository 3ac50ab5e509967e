"""make bench derives its nginx configuration from nginx/ (bench/nginx_conf.py): one file,
nginx.conf with its includes inlined; the lines it edits must stay findable, and what it
adds must exist only there."""

import re

from bench.nginx_conf import (
    BENCH_RATE,
    CEILING_LOCATION,
    CEILING_PREFIX,
    bench_nginx_conf,
    inlined_nginx_conf,
)
from tests.e2e.stack import REPO

NGINX = REPO / "nginx"
PRODUCTION = inlined_nginx_conf(NGINX)
RATE = re.compile(r"rate=\S+;")


def test_every_piece_of_the_production_configuration_is_inlined() -> None:
    pieces = sorted(path.name for path in (NGINX / "includes").glob("*.conf"))
    named = re.findall(r"^\s*include includes/(\S+);", (NGINX / "nginx.conf").read_text(), re.M)
    assert sorted(named) == pieces  # nginx.conf includes every file there, once
    assert "include includes/" not in PRODUCTION
    for piece in pieces:
        first_setting = next(
            line.strip()
            for line in (NGINX / "includes" / piece).read_text().splitlines()
            if line.strip() and not line.startswith("#")
        )
        assert first_setting in PRODUCTION, piece


def test_the_bench_raises_every_per_address_rate() -> None:
    zones = re.findall(r"limit_req_zone \S+ zone=(\w+):\w+ rate=(\S+);", bench_nginx_conf(NGINX))
    assert {name for name, _ in zones} >= {"api", "redirects"}
    assert all(rate == BENCH_RATE for _, rate in zones)


def test_the_ceiling_location_exists_in_the_bench_configuration_only() -> None:
    assert CEILING_PREFIX not in PRODUCTION
    bench = bench_nginx_conf(NGINX)
    assert bench.count(f"location ^~ {CEILING_PREFIX}") == 1
    assert bench.count(CEILING_LOCATION) == 1


def test_everything_else_is_production_line_for_line() -> None:
    # Without the ceiling location, the bench's file is production's, line by line, but
    # for the number in each per-address rate.
    bench = bench_nginx_conf(NGINX).replace(CEILING_LOCATION, "", 1).splitlines()
    production = PRODUCTION.splitlines()
    assert len(bench) == len(production)
    changed = [
        (ours, theirs) for ours, theirs in zip(production, bench, strict=True) if ours != theirs
    ]
    assert changed
    for ours, theirs in changed:
        assert RATE.sub("rate=R;", ours) == RATE.sub("rate=R;", theirs), (ours, theirs)
        assert theirs.lstrip().startswith("limit_req_zone ") and f"rate={BENCH_RATE};" in theirs
