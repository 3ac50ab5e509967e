"""Turn `docker compose config --format json` into a file `docker stack deploy` accepts.

    docker compose -f docker-compose.yml -f docker-compose.prod.yml \
        -f docker-compose.swarm.yml config --format json | python3 scripts/stack_file.py

Compose stays the one source of truth: it merges the files, resolves the variables, the
anchors and `!reset`. What is left differs between the Compose Specification and the
stack loader of the docker CLI, which still reads the older version-3 format:

- `depends_on` with conditions is refused ("must be a list"); Swarm ignores start order
  anyway, so it goes (the services are correct without it: docs/swarm.md).
- `build`, `restart` (Swarm uses deploy.restart_policy) and `security_opt` (no Swarm
  equivalent) would only print "ignoring unsupported options".
- `tmpfs` and `shm_size` are ignored by Swarm: they become tmpfs mounts, so a read-only
  root filesystem keeps the few paths it must write.
- CPU counts must be strings, file modes numbers; the `name` that compose gives every
  network, volume, secret and config would escape the stack's namespace, so the stack
  names them itself.

Standard library only: it runs before any virtualenv exists.
"""

import json
import sys
from typing import Any

DROPPED_SERVICE_KEYS = ("depends_on", "build", "restart", "security_opt", "pull_policy")
NAMESPACED = ("networks", "volumes", "secrets", "configs")


def tmpfs_mount(spec: str) -> dict[str, Any]:
    """'/tmp:size=16m' -> a tmpfs mount of the long volume syntax."""
    target, _, options = spec.partition(":")
    mount: dict[str, Any] = {"type": "tmpfs", "target": target}
    for option in filter(None, options.split(",")):
        name, _, value = option.partition("=")
        if name == "size":
            mount["tmpfs"] = {"size": parse_size(value)}
    return mount


def parse_size(value: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    suffix = value[-1:].lower()
    if suffix in units:
        return int(value[:-1]) * units[suffix]
    return int(value)


def swarm_service(service: dict[str, Any]) -> dict[str, Any]:
    service = {key: value for key, value in service.items() if key not in DROPPED_SERVICE_KEYS}
    mounts = [tmpfs_mount(spec) for spec in service.pop("tmpfs", [])]
    shm_size = service.pop("shm_size", None)
    if shm_size is not None:
        # Where shm_size would have sized it: the container's own shared memory, not a
        # temporary folder shared with anyone.
        shm = {"type": "tmpfs", "target": "/dev/shm", "tmpfs": {"size": int(shm_size)}}  # noqa: S108
        mounts.append(shm)
    if mounts:
        service["volumes"] = [*service.get("volumes", []), *mounts]
    # `null` fields (compose writes command: null) are not valid in the stack format.
    service = {key: value for key, value in service.items() if value is not None}
    for reference in (*service.get("secrets", []), *service.get("configs", [])):
        if isinstance(reference.get("mode"), str):  # compose writes "0555"; octal
            reference["mode"] = int(reference["mode"], 8)
    resources = service.get("deploy", {}).get("resources", {})
    for bound in resources.values():
        if "cpus" in bound:
            bound["cpus"] = str(bound["cpus"])
    return service


def stack_file(config: dict[str, Any]) -> dict[str, Any]:
    stack: dict[str, Any] = {"version": "3.9"}
    stack["services"] = {name: swarm_service(s) for name, s in config["services"].items()}
    for kind in NAMESPACED:
        resources = {}
        for name, resource in config.get(kind, {}).items():
            resource = dict(resource)
            if not resource.get("external"):
                resource.pop("name", None)
            resources[name] = resource
        if resources:
            stack[kind] = resources
    return stack


def main() -> int:
    json.dump(stack_file(json.load(sys.stdin)), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
