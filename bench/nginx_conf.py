"""The bench's nginx configuration: nginx/nginx.conf as production runs it, with the
per-address rates raised (all of wrk's traffic comes from one address) and one location
added, nginx's own static 301: the ceiling every scenario is compared with. Written by
bench/production_stack.py each run, mounted by bench/docker-compose.bench.yml; nowhere else."""

import re

CEILING_PREFIX = "/.bench/ceiling/"
CEILING_LOCATION = f"""
        # make bench only (bench/run.py): nginx's own 301, the ceiling of every scenario.
        location ^~ {CEILING_PREFIX} {{
            return 301 https://example.org/;
        }}
"""
BENCH_RATE = "1000000r/s"


def bench_nginx_conf(source: str) -> str:
    conf, raised = re.subn(
        r"(limit_req_zone \S+ zone=\w+:\w+ rate=)\d+r/s", rf"\g<1>{BENCH_RATE}", source
    )
    conf, added = re.subn(
        r"(\n\s*server_name [^;]*;\n)", lambda m: m.group(1) + CEILING_LOCATION, conf
    )
    if raised < 2 or added != 1:
        raise ValueError("nginx/nginx.conf lacks the limit_req_zone or server_name lines to edit")
    return conf
