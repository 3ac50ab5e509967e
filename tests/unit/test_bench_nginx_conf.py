"""make bench derives its nginx configuration from nginx/nginx.conf (bench/nginx_conf.py):
the lines it edits must stay findable, and what it adds must exist only there."""

import re

from bench.nginx_conf import BENCH_RATE, CEILING_PREFIX, bench_nginx_conf
from tests.e2e.stack import REPO

PRODUCTION = (REPO / "nginx" / "nginx.conf").read_text()


def test_the_bench_raises_every_per_address_rate() -> None:
    zones = re.findall(
        r"limit_req_zone \S+ zone=(\w+):\w+ rate=(\S+);", bench_nginx_conf(PRODUCTION)
    )
    assert {name for name, _ in zones} >= {"api", "redirects"}
    assert all(rate == BENCH_RATE for _, rate in zones)


def test_the_ceiling_location_exists_in_the_bench_configuration_only() -> None:
    assert CEILING_PREFIX not in PRODUCTION
    bench = bench_nginx_conf(PRODUCTION)
    assert bench.count(f"location ^~ {CEILING_PREFIX}") == 1
    # Everything else is production's, line for line.
    assert len(bench.splitlines()) == len(PRODUCTION.splitlines()) + 5
