"""`make bench ARGS="--profile"`: py-spy, run as root from the host, records the uvicorn
process of the first api replica during the last round of cache hits; the raw profile goes
to bench/results/profile-cache-hit.txt and its summary (report.profile_summary) to stdout."""

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import report
from tests.e2e.stack import Stack


@contextmanager
def profiler(stack: Stack, seconds: int, results: Path) -> Iterator[None]:
    """py-spy (as root, from the host) on the uvicorn process of the first api replica."""
    pid = stack.inspect(stack.compose("ps", "--quiet", "api").split()[0])["State"]["Pid"]
    py_spy = str(Path(sys.executable).parent / "py-spy")
    raw = results / "profile-cache-hit.txt"
    process = subprocess.Popen(  # noqa: S603
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(raw),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield
    finally:
        _, stderr = process.communicate(timeout=seconds + 60)
        if process.returncode != 0:
            print(f"py-spy failed: {stderr.decode(errors='replace')}", file=sys.stderr)
        else:
            print(report.profile_summary(raw.read_text()))
