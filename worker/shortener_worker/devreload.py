"""python -m shortener_worker.devreload: development only (docker-compose.override.yml).

RQ imports the job code once, in the worker process, and forks each work horse from it:
a running worker never sees an edit. So in development the worker is restarted instead,
by this small polling reloader (the worker image has no watchfiles; uvicorn brings it to
the api only). SIGTERM is RQ's warm shutdown: the job in hand finishes first, and a
`docker compose stop` reaches the worker the same way. The healthcheck follows the worker
that runs now: each start writes its name to the file the check reads.
"""

import json
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

SOURCE = Path(__file__).resolve().parent
# A fixed command: nothing from outside reaches the argument list.
WORKER = [sys.executable, "-m", "shortener_worker", "run"]


def say(message: str) -> None:
    """One JSON object per line, like the worker's own logs."""
    entry = {
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "level": "INFO",
        "logger": "shortener_worker.devreload",
        "message": message,
    }
    print(json.dumps(entry), flush=True)


def sources() -> dict[Path, int]:
    found = {}
    for path in SOURCE.rglob("*.py"):
        with suppress(FileNotFoundError):  # deleted while we looked
            found[path] = path.stat().st_mtime_ns
    return found


def start_worker() -> subprocess.Popen[bytes]:
    return subprocess.Popen(WORKER)  # noqa: S603 (a fixed command, see WORKER)


def main() -> int:
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    seen, worker, exited = sources(), start_worker(), False
    while not stopping:
        time.sleep(1)
        if sources() != seen:
            say("source changed: restarting the worker")
            worker.terminate()
            worker.wait()
            seen, worker, exited = sources(), start_worker(), False
        elif worker.poll() is not None and not exited:
            # A crash (say, a syntax error) waits for the fix, as watchfiles would.
            say(f"worker exited with {worker.returncode}: waiting for a change")
            exited = True
    worker.terminate()
    return worker.wait()


if __name__ == "__main__":
    sys.exit(main())
