"""The container HEALTHCHECK: python -m shortener.health.probe.

Written in Python so the image needs no curl. Exits 0 only when /health/ready says the
service can do its job.
"""

import os
import sys
import urllib.request
from urllib.error import URLError


def main() -> int:
    port = os.environ.get("HTTP_PORT", "8000")
    url = f"http://127.0.0.1:{port}/health/ready"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except (URLError, OSError) as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
