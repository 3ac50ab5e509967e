"""Drive a compose project of the real stack from the tests: up, exec, inspect, down.

Every project gets a unique name, its own secrets, an ephemeral port on 127.0.0.1, and is
removed with its volumes at the end, so runs never collide with `make up` or each other.
"""

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
BASE_FILE = REPO / "docker-compose.yml"
# Counts the entries of a stream whose field `link` is ARGV[1], inside Redis: one call.
COUNT_LINK_ENTRIES = """
local n = 0
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'link' and fields[i + 1] == ARGV[1] then n = n + 1 end
  end
end
return n
"""


def run(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: int = 300,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args), env=env, cwd=REPO, input=stdin, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


# What `make secrets` (scripts/secrets.sh) writes: each value once (the ACL file holds
# hashes only, the Redis exporter's JSON map the monitoring password again).
SECRET_VALUE_FILES = {
    "postgres_superuser_password",
    "database_owner_password",
    "database_app_password",
    "database_monitor_password",
    "redis_password",
    "redis_monitoring_password",
    "grafana_admin_password",
}


def make_secrets(directory: Path) -> Path:
    """Fresh random secrets for one project, made the way `make secrets` makes them."""
    run([str(REPO / "scripts" / "secrets.sh"), str(directory)])
    return directory


@dataclass
class Stack:
    secrets_dir: Path
    files: list[Path] = field(default_factory=lambda: [BASE_FILE])
    name: str = field(default_factory=lambda: f"shortener-e2e-{secrets.token_hex(3)}")

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "COMPOSE_PROJECT_NAME": self.name,
            "SECRETS_DIR": str(self.secrets_dir),
            # Empty port: Docker picks a free one on 127.0.0.1 (see docker-compose.yml).
            "PROXY_PORT": "",
            "PUBLIC_BASE_URL": "http://sho.rt",
        }

    @property
    def file_args(self) -> list[str]:
        """`-f FILE` for each of this stack's compose files."""
        return [arg for path in self.files for arg in ("-f", str(path))]

    def compose(
        self, *args: str, check: bool = True, timeout: int = 300, stdin: str | None = None
    ) -> str:
        return run(
            ["docker", "compose", *self.file_args, *args], self.env, check, timeout, stdin
        ).stdout

    def up(self) -> None:
        self.compose("up", "--detach", "--wait", "--wait-timeout", "240", timeout=400)

    @contextmanager
    def running(self) -> Iterator["Stack"]:
        """Build, start (printing the logs when it does not come up), and in the end remove
        the project with its volumes, whatever happened in between."""
        try:
            self.compose("build", timeout=900)
            try:
                self.up()
            except AssertionError:
                print(self.logs())
                raise
            yield self
        finally:
            self.down()

    def down(self) -> None:
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "10", check=False)

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "60", check=False)

    @property
    def base_url(self) -> str:
        # Asked each time: a down/up gives the proxy a new ephemeral port.
        address = self.compose("port", "proxy", "8080").strip().splitlines()[-1]
        host, _, port = address.rpartition(":")
        assert host == "127.0.0.1", f"the proxy must publish on loopback only, got {address}"
        return f"http://127.0.0.1:{port}"

    def client(self, api_key: str | None = None) -> httpx.Client:
        """A client of the proxy on 127.0.0.1; with `api_key`, every request carries it."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        return httpx.Client(
            base_url=self.base_url, headers=headers, follow_redirects=False, timeout=10
        )

    def create_api_key(self, name: str) -> str:
        """A key made the way `make api-key` makes one: the CLI inside the api container."""
        return self.exec("api", "python", "-m", "shortener.keys", "create", name).strip()

    def secret_values(self) -> list[str]:
        """Every secret value of this stack, read from its secrets folder."""
        files = {p.name for p in self.secrets_dir.iterdir() if p.is_file()}
        assert files >= SECRET_VALUE_FILES, SECRET_VALUE_FILES - files
        return [(self.secrets_dir / name).read_text().strip() for name in SECRET_VALUE_FILES]

    def container(self, service: str) -> str:
        ids = self.compose("ps", "--all", "--quiet", service).split()
        assert ids, f"no container for {service}"
        return ids[0]

    def containers(self) -> list[str]:
        return self.compose("ps", "--all", "--quiet").split()

    def inspect(self, container: str) -> dict:
        return json.loads(run(["docker", "inspect", container]).stdout)[0]

    def exec(self, service: str, *command: str, check: bool = True) -> str:
        return self.compose("exec", "-T", service, *command, check=check)

    def exec_in(self, container: str, *command: str) -> str:
        """Run a command in one specific container (e.g. one replica of a scaled service)."""
        return run(["docker", "exec", container, *command]).stdout

    def sql(self, query: str, **variables: str) -> str:
        """Run SQL as the superuser over the database container's local socket.

        Values travel as psql variables (`:'name'` in the query), never spliced into SQL.
        """
        settings = [arg for name, value in variables.items() for arg in ("-v", f"{name}={value}")]
        return self.compose(
            "exec",
            "-T",
            "database",
            "psql",
            "-U",
            "postgres",
            "-d",
            "shortener",
            "-tA",
            "-v",
            "ON_ERROR_STOP=1",
            *settings,
            stdin=query,
        ).strip()

    def redis(self, *command: str) -> str:
        """redis-cli in the cache container; the password comes from the secret file."""
        return self.exec(
            "cache",
            "sh",
            "-c",
            'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" exec redis-cli "$@"',
            "redis-cli",
            *command,
        ).strip()

    def forget_cached_links(self) -> None:
        """Drop every cached redirect (only those: RQ's keys stay), so Postgres must answer."""
        script = "for _, k in ipairs(redis.call('KEYS', 'link:*')) do redis.call('DEL', k) end"
        self.redis("EVAL", script, "0")
        assert self.redis("KEYS", "link:*") == ""

    def link_id(self, code: str) -> str:
        """The link's `links.id`: what its click events carry in their `link` field."""
        link = self.sql("SELECT id FROM shortener.links WHERE code = :'code'", code=code)
        assert link, f"no link {code}"
        return link

    def clicks_in_stream(self, link_id: str) -> int:
        """Entries of one link in the click stream (docs/clicks.md): appended by the api and
        not yet trimmed, which the worker does only after it has ingested them."""
        return int(self.redis("EVAL", COUNT_LINK_ENTRIES, "1", "clicks:stream", link_id))

    def clicks_of(self, codes: list[str], before: float | None = None) -> int:
        """Clicks stored for these links (the worker's rows), those made before the Unix
        time `before` only when given."""
        return int(
            self.sql(
                "SELECT count(*) FROM shortener.clicks c JOIN shortener.links l"
                " ON l.id = c.link_id WHERE l.code = ANY(string_to_array(:'codes', ','))"
                " AND c.clicked_at < to_timestamp(:'before'::float8)",
                codes=",".join(codes),
                before=str(before if before is not None else "infinity"),
            )
        )

    def wait_healthy(self, service: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.inspect(self.container(service))["State"]
            if state.get("Health", {}).get("Status") == "healthy":
                return
            time.sleep(1)
        raise AssertionError(f"{service} not healthy after {timeout} s\n{self.logs()}")


def run_up_hint(stack: Stack, up_output: str) -> str:
    """Run the two commands `make up`'s closing hint prints (make a key, then shorten with
    it) as a person pasting them would, in the stack's environment: curl's output."""
    lines = [line.strip() for line in up_output.splitlines()]
    make_key = next(line for line in lines if line.startswith("KEY=$(make"))
    shorten = next(line for line in lines if line.startswith("curl "))
    return run(["bash", "-euo", "pipefail", "-c", f"{make_key}\n{shorten}"], stack.env).stdout
