"""Image quality: small, and nothing in a runtime image that only a build needs."""

import json

import pytest

from tests.e2e.stack import Stack, run

pytestmark = pytest.mark.e2e

PYTHON_SERVICES = ("api", "worker")
MAX_BYTES = 200 * 1000 * 1000
# What a build needs and a running service does not (the base image's apt stays: it is
# the base's own layer, and the image is read-only in production anyway).
BUILD_TOOLS = ("gcc", "cc", "c++", "make", "git", "pip", "pip3", "curl", "wget")


def image_of(stack: Stack, service: str) -> str:
    return stack.inspect(stack.container(service))["Config"]["Image"]


@pytest.mark.parametrize("service", PYTHON_SERVICES)
def test_python_images_stay_under_200_mb(stack: Stack, service: str) -> None:
    size = json.loads(run(["docker", "image", "inspect", image_of(stack, service)]).stdout)[0][
        "Size"
    ]
    assert size < MAX_BYTES, f"{service} image is {size / 1e6:.0f} MB"


@pytest.mark.parametrize("service", PYTHON_SERVICES)
def test_no_build_tools_or_source_control_in_runtime_images(stack: Stack, service: str) -> None:
    script = (
        f"for t in {' '.join(BUILD_TOOLS)}; do command -v $t; done; "
        "find / -xdev \\( -name .git -o -name .hg -o -name .svn \\) -print 2>/dev/null; "
        "ls /app"
    )
    output = run(
        ["docker", "run", "--rm", "--entrypoint", "sh", image_of(stack, service), "-c", script],
        check=False,
    ).stdout.split()
    # Only the service's own code is in /app (the .dockerignore allow-list at work).
    expected_app = {"api": ["migrations", "shortener"], "worker": ["shortener_worker"]}[service]
    assert output == expected_app, output
