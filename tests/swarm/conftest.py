"""The swarm tier: one single-node swarm (joined only if the engine is in none) and one
stack of the production files for the session, torn down with everything it created."""

from collections.abc import Iterator

import pytest

from tests.swarm.stack import REPO, SwarmStack, run, swarm_state


@pytest.fixture(scope="session")
def swarm() -> Iterator[None]:
    created = swarm_state() != "active"
    # The bridge that joining a swarm creates for the tasks' way out; it outlives the swarm.
    gateway_filter = ["--filter", "name=^docker_gwbridge$"]
    had_gateway_bridge = bool(run(["docker", "network", "ls", "-q", *gateway_filter]).strip())
    if created:
        # Loopback: this node talks to no other, and nothing listens on another address.
        run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"])
    node = run(["docker", "info", "--format", "{{.Swarm.NodeID}}"]).strip()
    labelled = "shortener.data" in run(
        ["docker", "node", "inspect", "--format", "{{json .Spec.Labels}}", node]
    )
    try:
        yield
    finally:
        if created:
            # Only a swarm these tests made; never one that other work on this engine uses.
            run(["docker", "swarm", "leave", "--force"])
            if not had_gateway_bridge:
                run(["docker", "network", "rm", "docker_gwbridge"])
        elif not labelled:
            # scripts/stack.sh labelled the node for the data stores: take the label off.
            run(["docker", "node", "update", "--label-rm", "shortener.data", node])


def namespaced(kind: str, stack: str) -> list[str]:
    label = f"label=com.docker.stack.namespace={stack}"
    if kind == "container":
        return run(["docker", "ps", "--all", "--quiet", "--filter", label]).split()
    return run(["docker", kind, "ls", "--quiet", "--filter", label]).split()


@pytest.fixture(scope="session")
def stack(swarm: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwarmStack]:
    secrets_dir = tmp_path_factory.mktemp("secrets")
    run([str(REPO / "scripts" / "secrets.sh"), str(secrets_dir)])
    # Alertmanager's receiver (no alert is expected to reach it here).
    (secrets_dir / "alert_webhook_url").write_text("http://127.0.0.1:9/alerts\n")
    stack = SwarmStack(secrets_dir)
    try:
        stack.up()
        yield stack
    finally:
        stack.down()
        left = {
            kind: namespaced(kind, stack.name)
            for kind in ("service", "secret", "config", "network", "volume", "container")
        }
        assert not any(left.values()), f"stack {stack.name} left {left}"
