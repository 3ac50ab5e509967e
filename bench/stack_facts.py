"""What the bench reads from the running stack for its report, besides the scenarios: the
versions of the software measured, and counters summed over the api replicas' /metrics."""

from tests.e2e.stack import Stack, run


def api_metric(stack: Stack, name: str) -> float:
    """A counter summed over every api replica (read inside each container)."""
    total = 0.0
    script = (
        "import urllib.request; print(urllib.request.urlopen("
        "'http://127.0.0.1:8000/metrics', timeout=5).read().decode())"
    )
    for container in stack.compose("ps", "--quiet", "api").split():
        for line in stack.exec_in(container, "python", "-c", script).splitlines():
            if line.startswith(name + " "):
                total += float(line.split()[1])
    return total


def versions(stack: Stack) -> dict:
    api = stack.exec(
        "api",
        "python",
        "-c",
        "import sys, importlib.metadata as m; print(sys.version.split()[0], "
        "*(m.version(p) for p in ('fastapi', 'starlette', 'uvicorn', 'redis', 'psycopg')))",
    ).split()
    wrk = run(["wrk", "--version"], check=False).stdout.split()[1]
    return {
        "python": api[0],
        "fastapi": api[1],
        "starlette": api[2],
        "uvicorn": api[3],
        "redis-py": api[4],
        "psycopg": api[5],
        "nginx": stack.exec("proxy", "nginx", "-v", check=False).strip() or _stderr_version(stack),
        "redis": stack.redis("INFO", "server").split("redis_version:")[1].split()[0],
        "postgres": stack.sql("SHOW server_version"),
        "wrk": wrk,
    }


def _stderr_version(stack: Stack) -> str:
    result = run(["docker", "exec", stack.container("proxy"), "nginx", "-v"], check=False)
    return result.stderr.strip().removeprefix("nginx version: ")
