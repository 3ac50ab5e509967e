"""CPU time read from the host, for the CPU time per request the wrk scenarios report
(bench/wrk_runs.py): each service's containers by their cgroups, and the whole machine by
/proc/stat. None where the host does not say."""

import os
from pathlib import Path

# The services whose CPU time per request the redirect and create scenarios report (the
# workers are stopped meanwhile: see bench/measure.py).
CPU_SERVICES = ("api", "proxy", "cache", "database")
# Where the host keeps a container's CPU time: cgroup v1 (cpuacct, nanoseconds) or v2
# (cpu.stat, microseconds), by the Docker engine's usual cgroup paths.
CGROUP_CPU = [
    ("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage", 1e-9),
    ("/sys/fs/cgroup/system.slice/docker-{id}.scope/cpu.stat", 1e-6),
    ("/sys/fs/cgroup/docker/{id}/cpu.stat", 1e-6),
]


def cpu_seconds(container_ids: list[str]) -> float | None:
    """CPU time the containers have used so far (None if the host does not say)."""
    total = 0.0
    for container in container_ids:
        for template, unit in CGROUP_CPU:
            path = Path(template.format(id=container))
            if path.exists():
                text = path.read_text()
                if path.name == "cpu.stat":  # "usage_usec N" among other lines
                    text = text.split("usage_usec", 1)[1].split()[0]
                total += int(text) * unit
                break
        else:
            return None
    return total


def machine_busy_seconds() -> float:
    """CPU time the whole host has spent busy so far, all cores (/proc/stat): containers,
    wrk, Docker's userland proxy and the kernel's network path alike."""
    # user nice system idle iowait irq softirq steal ...: not idle, not the hypervisor's.
    user, nice, system, _, _, irq, softirq = map(int, Path("/proc/stat").read_text().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
