"""Click ingestion benchmark (not a test): how many clicks per second ONE ingestion run
stores, on this machine, in-process (one worker).

Throwaway Postgres and Redis containers are configured exactly as compose configures them
(tests/integration/containers.py: init-db roles, the real migrations, the Redis ACL, AOF
with appendfsync everysec); the run connects as the app role, as the worker does.

    make bench-ingest                                  # 200,000 events, batches of 2,000
    make bench-ingest ARGS="--events 50000 --batch-size 500"
"""

import argparse
import os
import platform
import random
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import redis
from testcontainers.core.container import DockerContainer

from shortener.migrate.files import DEFAULT_DIRECTORY, read_migrations
from shortener.migrate.runner import apply_migrations
from shortener_worker.clicks import stream
from shortener_worker.clicks.ingest import ingest
from shortener_worker.settings import load_settings
from tests.integration.containers import (
    APP,
    DATABASE,
    OWNER,
    POSTGRES_IMAGE,
    REDIS_IMAGE,
    REPO,
    Postgres,
    RedisServer,
    postgres_container,
    redis_container,
)

REFERRERS = ["", "news.example", "mail.example", "search.example", "social.example"]
AGENTS = ["Chrome", "Firefox", "Safari", "Edge", "Googlebot"]
XADD_CHUNK = 5000

Ready = TypeVar("Ready")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--links", type=int, default=1000, help="links the clicks spread over")
    parser.add_argument("--days", type=int, default=30, help="days the clicks spread over")
    return parser.parse_args()


def wait_for(container: DockerContainer, probe: Callable[[], Ready], timeout: float = 60) -> Ready:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return probe()
        except Exception:
            if time.monotonic() > deadline:
                print(container.get_wrapped_container().logs().decode(errors="replace"))
                raise
            time.sleep(0.2)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory = f", {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB"
    return f"{platform.node()}: {os.cpu_count()} x {cpu}{memory}; {platform.platform()}"


def events(count: int, link_ids: list[int], days: int) -> list[dict[str, str]]:
    """`count` events per the contract (docs/clicks.md), spread evenly over the links and
    days (a pessimistic case for the rollups: few clicks share a row), 10 % bots."""
    rng = random.Random(7)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    span_ms = int(timedelta(days=days).total_seconds() * 1000)
    return [
        {
            "link": str(rng.choice(link_ids)),
            "at": str(now_ms - rng.randrange(span_ms)),
            "ref": rng.choice(REFERRERS),
            "ua": rng.choice(AGENTS),
            "bot": "1" if rng.random() < 0.1 else "0",
            "visitor": f"{rng.getrandbits(64):016x}",
            "rid": secrets.token_hex(16),
        }
        for _ in range(count)
    ]


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-secrets-") as secrets_dir:
        secrets_path = Path(secrets_dir)
        script = [REPO / "scripts" / "secrets.sh", secrets_path]
        subprocess.run(script, check=True, capture_output=True)  # noqa: S603
        with postgres_container(secrets_path) as pg, redis_container(secrets_path) as rd:
            postgres = wait_for(pg, lambda: _postgres(pg, secrets_path))
            cache = wait_for(rd, lambda: _redis(rd, secrets_path))
            return bench(args, postgres, cache)


def _postgres(container: DockerContainer, secrets_path: Path) -> Postgres:
    server = Postgres(
        container.get_container_host_ip(), int(container.get_exposed_port(5432)), secrets_path
    )
    server.connect(APP).close()
    return server


def _redis(container: DockerContainer, secrets_path: Path) -> RedisServer:
    server = RedisServer(
        container.get_container_host_ip(),
        int(container.get_exposed_port(6379)),
        secrets_path / "redis_password",
    )
    with server.client() as client:
        client.ping()
    return server


def bench(args: argparse.Namespace, postgres: Postgres, server: RedisServer) -> int:
    settings = load_settings(
        database_host=postgres.host,
        database_port=postgres.port,
        database_name=DATABASE,
        database_user=APP,
        database_password_file=postgres.password_file(APP),
        redis_host=server.host,
        redis_port=server.port,
        redis_password_file=server.password_file,
        click_batch_size=args.batch_size,
        click_ingest_budget_seconds=300,  # drain everything in one run
    )
    with postgres.connect(OWNER) as owner:
        apply_migrations(owner, read_migrations(DEFAULT_DIRECTORY))
        link_ids = [
            row[0]
            for row in owner.execute(
                "INSERT INTO links (code, url)"
                " SELECT 'bench' || n, 'https://e.org/' || n FROM generate_series(1, %s) n"
                " RETURNING id",
                (args.links,),
            )
        ]
        pg_version = owner.execute("SHOW server_version").fetchone()[0]

    cache = redis.Redis(
        host=server.host,
        port=server.port,
        password=server.password_file.read_text(encoding="utf-8").strip(),
    )
    started = time.perf_counter()
    batch = events(args.events, link_ids, args.days)
    for start in range(0, len(batch), XADD_CHUNK):
        with cache.pipeline(transaction=False) as pipe:
            for fields in batch[start : start + XADD_CHUNK]:
                pipe.xadd(stream.STREAM, fields)
            pipe.execute()
    appended = time.perf_counter() - started

    with postgres.connect(APP) as conn:
        started = time.perf_counter()
        report = ingest(conn, cache, settings, "bench")
        elapsed = time.perf_counter() - started
        stored = conn.execute("SELECT count(*), sum(clicks) FROM click_totals").fetchone()
        total_clicks = conn.execute("SELECT count(*) FROM clicks").fetchone()[0]

    ok = report.ingested == args.events == total_clicks and stored[1] == args.events
    print(f"command:   {shlex.join([sys.executable, *sys.argv])}")
    print(f"machine:   {machine()}")
    print(
        f"python:    {platform.python_version()}; postgres {pg_version} ({POSTGRES_IMAGE});"
        f" redis {cache.info()['redis_version']} ({REDIS_IMAGE})"
    )
    print(
        f"workload:  {args.events} events, {args.links} links, {args.days} days,"
        f" batch size {args.batch_size}"
    )
    print(f"appended:  {args.events / appended:,.0f} events/s (XADD, pipelined)")
    print(
        f"ingested:  {report.ingested} clicks in {elapsed:.2f} s, {report.batches} batches,"
        f" trimmed {report.trimmed}; counts {'match' if ok else 'DO NOT MATCH'}"
    )
    print(f"result:    {report.ingested / elapsed:,.0f} clicks/s (one run, one worker)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
