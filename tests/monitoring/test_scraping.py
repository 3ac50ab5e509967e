"""What Prometheus sees of the stack, and what the exporters may do: every replica found
by DNS (scaling needs no config change), every exporter up with a least-privilege login,
nothing published beyond loopback (docker-compose.monitoring.yml, docs/monitoring.md)."""

import pytest

from tests.monitoring.conftest import MEASURED, MonitoredStack, wait_until

pytestmark = pytest.mark.e2e

JOBS = ("api", "worker", "webhooks", "postgres", "redis", "nginx", "alertmanager", "prometheus")


def test_every_job_is_scraped_and_every_exporter_reaches_its_service(
    monitored: MonitoredStack,
) -> None:
    for job in JOBS:
        assert monitored.values(f'min(up{{job="{job}"}})') == [1.0], job
    # The production variant's two replicas of each, found by their service's name.
    assert monitored.values('count(up{job="api"} == 1)') == [2.0]
    assert monitored.values('count(up{job="worker"} == 1)') == [2.0]
    for reached in ("pg_up", "redis_up", "nginx_up"):
        assert monitored.values(reached) == [1.0], reached


def test_prometheus_finds_a_third_api_replica_without_a_config_change(
    monitored: MonitoredStack,
) -> None:
    try:
        monitored.compose(
            "up", "--detach", "--wait", "--no-recreate", "--scale", "api=3", "api", timeout=300
        )
        wait_until(
            lambda: monitored.values('count(up{job="api"} == 1)') == [3.0], 30, "3 api targets up"
        )
        # Its own samples, not only `up`: the counter has a series once the replica has
        # answered a request (its healthcheck's), seen at the next scrape.
        wait_until(
            lambda: (
                monitored.values("count(count by (instance) (shortener_http_requests_total))")
                == [3.0]
            ),
            30,
            "3 replicas' requests counted",
        )
    finally:
        monitored.compose(
            "up", "--detach", "--wait", "--no-recreate", "--scale", "api=2", "api", timeout=300
        )
    wait_until(
        lambda: monitored.values('count(up{job="api"})') == [2.0], 30, "back to 2 api targets"
    )


def test_the_postgres_exporter_role_reads_statistics_only(monitored: MonitoredStack) -> None:
    role = "shortener_monitor"
    assert monitored.sql("SELECT pg_has_role(:'role', 'pg_monitor', 'USAGE')", role=role) == "t"
    for table in ("shortener.links", "shortener.api_keys", "shortener.clicks"):
        readable = monitored.sql(
            "SELECT has_table_privilege(:'role', :'table', 'SELECT')", role=role, table=table
        )
        assert readable == "f", table
    assert (
        monitored.sql(
            "SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = :'role'",
            role=role,
        )
        == "f"
    )


def test_the_redis_exporter_user_reads_no_key(monitored: MonitoredStack) -> None:
    # As the exporter's user, from the cache container, with the password of its secret.
    password = (monitored.secrets_dir / "redis_monitoring_password").read_text().strip()

    def as_monitoring(*command: str) -> str:
        login = 'REDISCLI_AUTH="$0" exec redis-cli --user monitoring "$@"'
        return monitored.exec("cache", "sh", "-c", login, password, *command).strip()

    assert as_monitoring("PING") == "PONG"
    assert "redis_version" in as_monitoring("INFO", "server")
    for command in (
        ("GET", "x"),
        ("KEYS", "*"),
        ("XRANGE", "clicks:stream", "-", "+"),
        ("SET", "x", "1"),
        ("FLUSHALL",),
        ("CONFIG", "SET", "maxmemory", "1"),
    ):
        assert "NOPERM" in as_monitoring(*command), command


def test_the_uis_are_published_on_loopback_only(monitored: MonitoredStack) -> None:
    for service, port in (("prometheus", 9090), ("alertmanager", 9093)):
        assert monitored.published(service, port).startswith("http://127.0.0.1:")
    # The exporters publish nothing: only Prometheus reads them.
    for service in ("postgres-exporter", "redis-exporter", "nginx-exporter"):
        ports = monitored.inspect(monitored.container(service))["NetworkSettings"]["Ports"]
        assert not any(ports.values()), (service, ports)
    MEASURED.append("scraping: every job up, 2 -> 3 api replicas found without a config change")
