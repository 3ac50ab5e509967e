"""The stack `make bench` measures: docker-compose.yml + docker-compose.prod.yml +
bench/docker-compose.bench.yml under a project name of its own, with fresh secrets and the
bench's nginx configuration (bench/nginx_conf.py) in a temporary directory. Built and
started on entry; on a failure its logs go to stderr; on exit it is removed with its
volumes, or left up with `--keep`."""

import os
import secrets
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.nginx_conf import bench_nginx_conf
from tests.e2e.stack import REPO, Stack, run

FILES = [
    REPO / "docker-compose.yml",
    REPO / "docker-compose.prod.yml",
    REPO / "bench" / "docker-compose.bench.yml",
]


@contextmanager
def production_stack(keep: bool) -> Iterator[tuple[Stack, Path]]:
    """The stack, up, and a working directory for the run's files (removed at the end)."""
    with tempfile.TemporaryDirectory(prefix="shortener-bench-") as tmp:
        work = Path(tmp)
        secrets_dir = work / "secrets"
        run([str(REPO / "scripts" / "secrets.sh"), str(secrets_dir)])
        conf = work / "nginx.conf"
        conf.write_text(bench_nginx_conf(REPO / "nginx"))
        conf.chmod(0o644)
        os.environ["BENCH_NGINX_CONF"] = str(conf)
        stack = Stack(secrets_dir, files=FILES, name=f"shortener-bench-{secrets.token_hex(3)}")
        try:
            print(f"bench: building and starting {stack.name} (production variant)...", flush=True)
            stack.compose("build", timeout=900)
            stack.up()
            yield stack, work
        except BaseException:
            print(stack.logs(), file=sys.stderr)
            raise
        finally:
            if keep:
                print(f"bench: left up; remove with: docker compose -p {stack.name} down -v")
            else:
                stack.down()
