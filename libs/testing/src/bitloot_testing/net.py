"""Ports and waiting for servers to listen."""

import random
import socket
import time
from pathlib import Path

# Where free ports are drawn from when the kernel's ephemeral range starts above it.
_LOWEST = 10_000
_PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# A generator of its own: tests that seed the `random` module must not make two runs
# draw the same ports.
_draw = random.Random()


def _ephemeral_start() -> int:
    """The first port the kernel hands outgoing connections (32768 on Linux by default)."""
    try:
        return int(_PORT_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now, below the kernel's ephemeral
    range where there is room: a port from that range, free when probed, can be taken as
    the local port of any outgoing connection (to the database, the broker) before the
    server meant for it binds it, which CI saw as "address already in use"."""
    start = _ephemeral_start()
    for _ in range(100 if start > _LOWEST else 0):
        port = _draw.randrange(_LOWEST, start)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether `host:port` accepts a TCP connection now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_tcp(host: str, port: int, timeout: float = 30.0) -> None:
    """Return once `host:port` accepts connections; raise TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{host}:{port} did not accept connections within {timeout} s")
        time.sleep(0.1)
