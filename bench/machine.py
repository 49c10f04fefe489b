"""Where the whole machine's CPU goes, beside the services': the PostgreSQL server, the
RabbitMQ node, and all of it (Linux /proc).

The pipeline's rate is bound by the CPU of the machine, not of the services alone: on the
2-core development machine the services, PostgreSQL, RabbitMQ and the bench's own load and
watcher share the cores. The CPU the whole machine spends per order, beside what it spends
per order of the null pipeline, is the ratio's ceiling when both are CPU-bound
(null / pipeline), whatever the services' share of it.

PostgreSQL's CPU is its processes' (postmaster and every backend alive) plus what the
postmaster's exited children used (a backend that closed within the window is counted by
its parent); RabbitMQ's is its Erlang VM's. Both are read from processes named `postgres`
and `beam.smp`, so a window counts the work of everything else that uses the same servers:
run the bench on an otherwise quiet machine.
"""

import os
from collections.abc import Iterator
from pathlib import Path

PROC = Path("/proc")
SERVERS = {"postgres": "postgresql", "beam.smp": "rabbitmq"}


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by PostgreSQL, RabbitMQ, and the whole machine."""
    used = dict.fromkeys(SERVERS.values(), 0.0)
    for command, own, children in processes():
        if command in SERVERS:
            used[SERVERS[command]] += own + children
    used["machine"] = _machine_seconds()
    return used


def processes() -> Iterator[tuple[str, float, float]]:
    """(command, own CPU, reaped children's CPU) of each process still there when read."""
    tick = os.sysconf("SC_CLK_TCK")
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone since the listing, or not ours to read
            continue
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        # Fields 14-17 of proc(5): utime, stime, cutime, cstime (here from the 3rd field).
        utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
        yield command, (utime + stime) / tick, (cutime + cstime) / tick


def _machine_seconds() -> float:
    """Busy CPU seconds of every core since boot: all of /proc/stat's `cpu` line but idle
    and iowait (guest time is already counted in user)."""
    line = (PROC / "stat").read_text().splitlines()[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in line[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
