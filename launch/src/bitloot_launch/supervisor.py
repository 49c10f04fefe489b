"""Starting BitLoot's processes and keeping them running, as compose and Kubernetes do.

`Supervisor` starts each process of the wiring table (`bitloot_launch.wiring`) in order,
`Process.instances` instances of each, and waits until every instance answers its ready
path. From then on an instance that exits unexpectedly is started again after a back-off
(0.5 s doubling to 10 s, back to 0.5 s once an instance stayed up 30 s: Kubernetes'
CrashLoopBackOff, faster); `restarts` counts them. A process with several instances gets
a port per instance, and the launcher serves the process's public port with a round-robin
balancer (`bitloot_testing.proxy.RoundRobinProxy`), as a Service spreads connections over pods.

Every instance's output goes to `<logs>/<name>.log` (`<name>-<n>.log` when there are
several), appended to across restarts, and, given a `Console`, to the terminal with the
instance's name in front.
"""

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

from bitloot_launch.wiring import Process
from bitloot_testing.net import free_port
from bitloot_testing.proxy import RoundRobinProxy

COLOURS = ("36", "32", "33", "35", "34", "90", "91", "92", "93", "94", "95", "96")


class StartFailed(RuntimeError):
    """An instance exited, or did not become ready, during the first start."""


@dataclass
class Backoff:
    """The wait before restarting a crashed instance: `first` doubling up to `ceiling`,
    and `first` again for an instance that had stayed up `healthy_after` seconds, so a
    crash loop does not spin while a rare crash is repaired at once."""

    first: float = 0.5
    ceiling: float = 10.0
    healthy_after: float = 30.0
    _next: float = field(default=0.0, init=False)

    def delay(self, uptime: float) -> float:
        """The wait before the next start of an instance that ran `uptime` seconds."""
        if self._next == 0.0 or uptime >= self.healthy_after:
            self._next = self.first
        delay = self._next
        self._next = min(self._next * 2, self.ceiling)
        return delay


class Console:
    """Writes each instance's lines with its name in front (coloured on a terminal)."""

    def __init__(self, width: int = 20) -> None:
        self._colour = sys.stdout.isatty()
        self._width = width
        self._codes: dict[str, str] = {}

    def line(self, name: str, text: str) -> None:
        label = name.ljust(self._width)
        if self._colour:
            code = self._codes.setdefault(name, COLOURS[len(self._codes) % len(COLOURS)])
            label = f"\033[{code}m{label}\033[0m"
        sys.stdout.write(f"{label}| {text.rstrip()}\n")
        sys.stdout.flush()


def python_module(process: Process) -> list[str]:
    """The default command: ``python -m <module>`` with this interpreter."""
    return [sys.executable, "-m", process.module]


@dataclass
class Instance:
    """One running copy of a process, on its own port, restarted in place."""

    id: str
    process: Process
    port: int
    log: Path
    backoff: Backoff
    child: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    pump: asyncio.Task[None] | None = None
    watcher: asyncio.Task[None] | None = None

    @property
    def ready_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.process.ready_path}"


class Supervisor:
    """Starts `processes` in order, keeps every instance running, stops them in reverse."""

    def __init__(
        self,
        processes: Sequence[Process],
        logs: Path,
        *,
        console: Console | None = None,
        ready_timeout: float = 120.0,
        stop_timeout: float = 30.0,
        backoff: Callable[[], Backoff] = Backoff,
        command: Callable[[Process], list[str]] = python_module,
        stop_signal: Callable[[Process], int] = lambda _process: signal.SIGTERM,
    ) -> None:
        self._processes = list(processes)
        self._logs = logs
        self._console = console
        self._ready_timeout = ready_timeout
        self._stop_timeout = stop_timeout
        self._backoff = backoff
        self._command = command
        self._stop_signal = stop_signal
        self._instances: dict[str, list[Instance]] = {}
        self._balancers: list[RoundRobinProxy] = []
        self._stopping = asyncio.Event()
        self.restarts: dict[str, int] = {}

    async def __aenter__(self) -> "Supervisor":
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # What callers ask of the running topology.

    def instances(self, name: str) -> list[str]:
        """The ids of `name`'s instances (``payments-1``, ``payments-2``)."""
        return [instance.id for instance in self._instances[name]]

    def url(self, name: str) -> str:
        """Where process `name` answers (its balancer when it has several instances)."""
        return f"http://127.0.0.1:{self._process(name).port}"

    def pid(self, instance: str) -> int | None:
        """The pid of the instance's current process; None while it is down."""
        child = self._instance(instance).child
        return child.pid if child is not None and child.returncode is None else None

    async def kill(self, instance: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` (SIGKILL: no shutdown handler runs) and wait until the process has
        exited; supervision then starts it again."""
        child = self._instance(instance).child
        if child is None or child.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(sig)
        await child.wait()

    async def ready_again(self, instance: str, timeout: float = 120.0) -> float:
        """Seconds until `instance` answers its ready path (TimeoutError after `timeout`)."""
        started = time.monotonic()
        url = self._instance(instance).ready_url
        async with httpx.AsyncClient() as http:
            while time.monotonic() - started < timeout:
                if await _answers(http, url):
                    return time.monotonic() - started
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{instance} not ready again within {timeout} s")

    def log(self, instance: str) -> Path:
        """The instance's log file (every start of it, appended)."""
        return self._instance(instance).log

    # Starting and stopping.

    async def start(self) -> None:
        """Start every process in order; each is ready before the next one starts."""
        self._logs.mkdir(parents=True, exist_ok=True)
        for process in self._processes:
            await self._start_process(process)

    async def _start_process(self, process: Process) -> None:
        count = max(1, process.instances)
        ports = [process.port] if count == 1 else [free_port() for _ in range(count)]
        instances = [
            Instance(
                id=f"{process.name}-{number}",
                process=process,
                port=port,
                log=self._logs
                / (f"{process.name}.log" if count == 1 else f"{process.name}-{number}.log"),
                backoff=self._backoff(),
            )
            for number, port in enumerate(ports, start=1)
        ]
        self._instances[process.name] = instances
        for instance in instances:
            self.restarts[instance.id] = 0
            await self._spawn(instance, append=False)
        await asyncio.gather(*(self._first_ready(instance) for instance in instances))
        if count > 1:
            targets = [("127.0.0.1", instance.port) for instance in instances]
            balancer = RoundRobinProxy(process.name, targets, port=process.port)
            # The instances see each client's own address, as behind a Kubernetes
            # Service: their per-address limits and audits must not lump clients together.
            balancer.keep_client_address = True
            await balancer.up()
            self._balancers.append(balancer)
        for instance in instances:
            instance.watcher = asyncio.create_task(self._supervise(instance))

    async def _first_ready(self, instance: Instance) -> None:
        if not await self._becomes_ready(instance, self._ready_timeout):
            child = instance.child
            state = (
                "exited" if child is not None and child.returncode is not None else "was not ready"
            )
            raise StartFailed(f"{instance.id} {state} on its first start; see {instance.log}")

    async def _becomes_ready(self, instance: Instance, timeout: float) -> bool:
        """Whether the instance's current process answers its ready path within `timeout`
        (False as soon as it exits); says so with its pid, which operators and tests read."""
        deadline = time.monotonic() + timeout
        child = instance.child
        assert child is not None
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline and child.returncode is None:
                if await _answers(http, instance.ready_url):
                    self._say(instance, f"ready (pid {child.pid})")
                    return True
                await asyncio.sleep(0.2)
        return False

    async def _spawn(self, instance: Instance, *, append: bool) -> None:
        """Start the instance's process in a session of its own (Ctrl-C reaches the
        launcher only, which stops the processes in order)."""
        process = instance.process
        env = {**os.environ, **process.env}
        if process.port_variable:
            env[process.port_variable] = str(instance.port)
        log: IO[bytes] = instance.log.open("ab" if append else "wb")
        child = await asyncio.create_subprocess_exec(
            *self._command(process),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        instance.child, instance.started_at = child, time.monotonic()
        instance.pump = asyncio.create_task(self._pump(instance, child, log))

    async def _pump(
        self, instance: Instance, child: asyncio.subprocess.Process, log: IO[bytes]
    ) -> None:
        assert child.stdout is not None
        with log:
            async for raw in child.stdout:
                log.write(raw)
                log.flush()
                if self._console is not None:
                    self._console.line(self._label(instance), raw.decode(errors="replace"))

    async def _supervise(self, instance: Instance) -> None:
        """Start the instance again whenever it exits, until the supervisor stops."""
        while True:
            child = instance.child
            assert child is not None
            code = await child.wait()
            if self._stopping.is_set():
                return
            delay = instance.backoff.delay(time.monotonic() - instance.started_at)
            self._say(instance, f"exited with status {code}; restarting in {delay:.1f} s")
            await asyncio.sleep(delay)
            if self._stopping.is_set():
                return
            await self._spawn(instance, append=True)
            self.restarts[instance.id] += 1
            await self._becomes_ready(instance, self._ready_timeout)

    async def stop(self) -> bool:
        """Stop every instance, the last process started first (its signal, then SIGKILL
        after the stop timeout); True when none had to be killed."""
        self._stopping.set()
        every = [instance for instances in self._instances.values() for instance in instances]
        for instance in every:
            if instance.watcher is not None:
                instance.watcher.cancel()
        clean = True
        for name in reversed(list(self._instances)):
            results = await asyncio.gather(*(self._terminate(i) for i in self._instances[name]))
            clean = clean and all(results)
        for balancer in self._balancers:
            await balancer.close()
        await asyncio.gather(*(i.pump for i in every if i.pump is not None), return_exceptions=True)
        return clean

    async def _terminate(self, instance: Instance) -> bool:
        child = instance.child
        if child is None or child.returncode is not None:
            return True
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(self._stop_signal(instance.process))
        try:
            await asyncio.wait_for(child.wait(), self._stop_timeout)
        except TimeoutError:
            self._say(instance, f"still running after {self._stop_timeout} s: killed")
            child.kill()
            await child.wait()
            return False
        self._say(instance, "stopped")
        return True

    # Helpers.

    def _process(self, name: str) -> Process:
        for process in self._processes:
            if process.name == name:
                return process
        raise KeyError(name)

    def _instance(self, instance: str) -> Instance:
        name = instance.rpartition("-")[0]
        for candidate in self._instances.get(name, []):
            if candidate.id == instance:
                return candidate
        raise KeyError(instance)

    def _label(self, instance: Instance) -> str:
        return instance.process.name if instance.process.instances <= 1 else instance.id

    def _say(self, instance: Instance, text: str) -> None:
        if self._console is not None:
            self._console.line(self._label(instance), text)


async def _answers(http: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await http.get(url, timeout=2)).status_code == 200
    except httpx.TransportError:
        return False
