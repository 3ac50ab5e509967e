"""The SSRF guard has one source, the sender's (worker/shortener_worker/webhooks/), and a
copy in the api, which checks a receiver when a webhook is made: the images cannot share a
package. This keeps the copy equal to its source, but for the package name."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["addresses.py", "blocked.py"])
def test_the_apis_copy_of_the_guard_is_the_senders(name: str) -> None:
    source = (REPO / "worker" / "shortener_worker" / "webhooks" / name).read_text()
    copy = (REPO / "api" / "shortener" / "webhooks" / name).read_text()
    body = "".join(line for line in copy.splitlines(keepends=True)[3:])
    assert body == source.replace("shortener_worker.webhooks.", "shortener.webhooks."), (
        f"api/shortener/webhooks/{name} differs from the sender's: copy it again "
        f"(header of 3 comment lines, then the worker's file with shortener.webhooks imports)"
    )
