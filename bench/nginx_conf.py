"""The bench's nginx configuration: nginx/nginx.conf as production runs it, its
`include includes/...` lines replaced by those files, with the per-address rates raised
(all of wrk's traffic comes from one address) and one location added, nginx's own static
301: the ceiling every scenario is compared with. One self-contained file, written by
bench/production_stack.py each run, mounted by bench/docker-compose.bench.yml; nowhere else."""

import re
from pathlib import Path

CEILING_PREFIX = "/.bench/ceiling/"
CEILING_LOCATION = f"""
        # make bench only (bench/run.py): nginx's own 301, the ceiling of every scenario.
        location ^~ {CEILING_PREFIX} {{
            return 301 https://example.org/;
        }}
"""
BENCH_RATE = "1000000r/s"
# Only the project's own pieces, named relative to nginx.conf; absolute includes
# (/etc/nginx/mime.types, server.d/, trusted-proxies.d/) are the container's.
RELATIVE_INCLUDE = re.compile(r"^([ \t]*)include (includes/[^;*]+);.*$", re.MULTILINE)


def inlined_nginx_conf(folder: Path) -> str:
    """folder/nginx.conf with each relative include replaced by the file it names."""

    def inline(match: re.Match[str]) -> str:
        indent, name = match.groups()
        lines = (folder / name).read_text().splitlines()
        return "\n".join(indent + line if line else line for line in lines)

    return RELATIVE_INCLUDE.sub(inline, (folder / "nginx.conf").read_text())


def bench_nginx_conf(folder: Path) -> str:
    conf, raised = re.subn(
        r"(limit_req_zone \S+ zone=\w+:\w+ rate=)\d+r/s",
        rf"\g<1>{BENCH_RATE}",
        inlined_nginx_conf(folder),
    )
    conf, added = re.subn(
        r"(\n\s*server_name [^;]*;\n)", lambda m: m.group(1) + CEILING_LOCATION, conf
    )
    if raised < 2 or added != 1:
        raise ValueError("nginx/ lacks the limit_req_zone or server_name lines to edit")
    return conf
