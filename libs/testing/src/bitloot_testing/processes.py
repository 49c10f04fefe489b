"""A service run as a real process (``python -m <module>``), for tests that kill it."""

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace

START_TIMEOUT = 60.0


@dataclass
class ServiceProcess:
    """One process of a service, serving HTTP on `port`."""

    process: subprocess.Popen[bytes]
    port: str

    async def ready(self) -> None:
        """Wait, without blocking the loop the sandboxes run in, until it is ready."""
        url = f"http://127.0.0.1:{self.port}/readyz"

        async def answers() -> bool:
            assert self.process.poll() is None, "the service exited early"
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(url, timeout=2)).status_code == 200
            except httpx.TransportError:
                return False

        assert await eventually(answers, timeout=START_TIMEOUT)

    async def killed(self) -> None:
        """SIGKILL: no shutdown, nothing flushed, whatever it was doing cut short."""
        self.process.kill()
        await asyncio.to_thread(self.process.wait, 30)
        assert self.process.returncode == -signal.SIGKILL


@asynccontextmanager
async def service_processes(
    module: str,
    service: str,
    environment: Callable[[], dict[str, str]],
    logs: Path,
    bus: BusNamespace,
    declared: Iterable[str],
) -> AsyncIterator[Callable[[], ServiceProcess]]:
    """Starts processes of `service` (``python -m module``) on demand, each with a fresh
    `environment()` whose ``<SERVICE>_HTTP_PORT`` it serves on, its output in `logs`;
    stops those still running at the end, and has `bus` delete the queues and exchanges
    they `declared`."""
    started: list[subprocess.Popen[bytes]] = []
    port_variable = service.upper().replace("-", "_") + "_HTTP_PORT"

    def start() -> ServiceProcess:
        env = environment()
        log = (logs / f"{service}-{len(started)}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", module], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        started.append(process)
        return ServiceProcess(process, env[port_variable])

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.to_thread(process.wait, 30)
        for name in declared:
            bus.track_queue(name)
            bus.track_exchange(name)
