"""A PostgreSQL server and a RabbitMQ cluster of a run's own, so that it may crash and
restart them without touching the machine's shared servers (which other work uses).

Both are the real servers from the machine's packages (`.ci/run` installs them), started
from a temporary directory on free ports. As root, each runs as its package's system user
(PostgreSQL refuses to run as root; Debian's `rabbitmq-server` switches to `rabbitmq`).
The RabbitMQ cluster's nodes share that user's Erlang cookie, so they may join.
"""

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from bitloot_testing.net import free_port, port_open
from bitloot_testing.proxy import RoundRobinProxy


def _as_user(user: str, command: list[str]) -> list[str]:
    """`command` run as `user` when this process is root (and the user exists)."""
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam(user)
    except KeyError:
        return command
    return ["runuser", "-u", user, "--", *command]


def _give(path: Path, user: str) -> None:
    """`path` (a directory this run made) owned by `user`, when root."""
    if os.geteuid() == 0:
        with contextlib.suppress(LookupError):
            shutil.chown(path, user, user)


def _postgres_bin() -> Path:
    """The newest installed PostgreSQL's binaries (Debian's layout, then the PATH)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if versions:
        return versions[-1]
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("a private PostgreSQL needs a PostgreSQL server installed (initdb)")
    return Path(initdb).parent


def rabbitmq_installed() -> bool:
    """Whether this machine has RabbitMQ's server (the cluster's tests skip without)."""
    return shutil.which("rabbitmq-server") is not None and shutil.which("rabbitmqctl") is not None


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The command name (2nd field) may hold spaces; the parent follows its ")".
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _sigkill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# What PostgreSQL logs when its startup process begins recovering after a crash.
RECOVERING = "database system was interrupted"


def _wait_for_line(log: Path, offset: int, needle: str, timeout: float) -> None:
    """Return once `log` holds `needle` after byte `offset`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), log.open("rb") as file:
            file.seek(offset)
            if needle.encode() in file.read():
                return
        time.sleep(0.001)
    raise TimeoutError(f"{log} did not say {needle!r} within {timeout} s")


@dataclass(frozen=True)
class Recovery:
    """What `PrivatePostgres.crash_during_recovery` did: the server's state when its
    postmaster was killed, and seconds from the second start until it accepted connections."""

    killed_while: str
    seconds: float


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster in `root`; it can crash the ways a server does (an immediate
    stop, a crash while recovering from one) and cut or cancel its clients' work."""

    root: Path
    port: int = 0

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self._bin = _postgres_bin()
        self._data = self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        """The data directory (tables and WAL), e.g. for a leak scan."""
        return self._data

    def _pg_ctl(self, *arguments: str) -> None:
        command = [str(self._bin / "pg_ctl"), "-D", str(self._data), *arguments]
        subprocess.run(_as_user("postgres", command), check=True, capture_output=True)

    def _options(self) -> str:
        return f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300"

    def start(self) -> None:
        """Create the cluster the first time, then start it and wait until it accepts
        connections (after any recovery)."""
        if not self._data.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            _give(self.root, "postgres")
            initdb = [str(self._bin / "initdb"), "-D", str(self._data), "-A", "trust"]
            subprocess.run(
                _as_user("postgres", [*initdb, "-U", "postgres", "--no-sync"]),
                check=True,
                capture_output=True,
            )
        log = str(self.root / "postgres.log")
        self._pg_ctl("-o", self._options(), "-l", log, "-t", "300", "-w", "start")

    def crash_restart(self) -> float:
        """Immediate shutdown (no checkpoint: the next start recovers from the WAL, as
        after a crash), then start again; seconds until it accepted connections."""
        self._pg_ctl("-m", "immediate", "-w", "stop")
        started = time.monotonic()
        self.start()
        return time.monotonic() - started

    def crash_during_recovery(self, timeout: float = 60) -> Recovery:
        """Crash, start, and SIGKILL the postmaster (and its children, as a machine's
        crash would) once it has begun recovering from the WAL, before it accepts
        connections; then start once more. It must recover again from the same WAL:
        committed rows stay."""
        self._pg_ctl("-m", "immediate", "-w", "stop")
        log = self.root / "postgres.log"
        offset = log.stat().st_size if log.exists() else 0
        self._pg_ctl("-o", self._options(), "-l", str(log), "-W", "start")
        _wait_for_line(log, offset, RECOVERING, timeout)
        pid, state = self._postmaster(timeout)
        for victim in [pid, *_children(pid)]:
            _sigkill(victim)
        _wait_gone(pid)
        for child in _children(pid):
            _wait_gone(child)
        started = time.monotonic()
        self.start()
        return Recovery(state, time.monotonic() - started)

    def _postmaster(self, timeout: float) -> tuple[int, str]:
        """The starting postmaster's pid and state (postmaster.pid's 8th line:
        ``starting`` while it recovers, ``ready`` once it accepts connections)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError, IndexError):
                lines = (self._data / "postmaster.pid").read_text().splitlines()
                return int(lines[0]), (lines[7].strip() if len(lines) > 7 else "starting")
            time.sleep(0.001)
        raise TimeoutError(f"PostgreSQL wrote no postmaster.pid within {timeout} s")

    def psql(self, sql: str, **variables: str) -> str:
        """Run `sql` as the superuser; its output, unaligned. `variables` are psql's
        (``:'name'`` in `sql` quotes one as a literal, so no value is pasted into SQL)."""
        command = [str(self._bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port)]
        command += ["-U", "postgres", "-d", "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1"]
        for name, value in variables.items():
            command += ["-v", f"{name}={value}"]
        done = subprocess.run(command, input=sql, check=True, capture_output=True, text=True)
        return done.stdout.strip()

    def _signal_backends(self, function: str, database_prefix: str, where: str) -> int:
        counted = self.psql(
            f"SELECT count(*) FILTER (WHERE {function}(pid)) FROM pg_stat_activity"
            " WHERE left(datname, length(:'prefix')) = :'prefix'"
            f" AND pid <> pg_backend_pid() AND {where};",
            prefix=database_prefix,
        )
        return int(counted or 0)

    def terminate_backends(self, database_prefix: str) -> int:
        """``pg_terminate_backend`` every connection to a database named
        `database_prefix`…, as an administrator or a failover does; how many."""
        return self._signal_backends("pg_terminate_backend", database_prefix, "true")

    def cancel_queries(self, database_prefix: str) -> int:
        """``pg_cancel_backend`` every query running in a database named
        `database_prefix`… (a statement timeout, an administrator); how many."""
        return self._signal_backends("pg_cancel_backend", database_prefix, "state = 'active'")

    def stop(self) -> None:
        if (self._data / "postmaster.pid").exists():
            self._pg_ctl("-m", "fast", "-w", "stop")


@dataclass
class PrivateRabbit:
    """A RabbitMQ node in `root`, named ``<name>-<port>@localhost``; `kill()` is a
    SIGKILL, and `start()` again brings it back on the same data (durable quorum queues
    survive, as they must; a cluster member rejoins its cluster)."""

    root: Path
    port: int = 0
    name: str = "bitloot-private"
    dist_port: int = 0
    # Erlang terms for advanced.config, read at every start (e.g. `trace_vhosts`).
    advanced_config: str = "[]."

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.dist_port = self.dist_port or free_port()
        self.node = f"{self.name}-{self.port}@localhost"

    def url_for(self, vhost: str = "/") -> str:
        """The node's AMQP URL (guest) on `vhost`."""
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{_vhost_path(vhost)}"

    @property
    def url(self) -> str:
        return self.url_for()

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_PID_FILE": str(self.root / "rabbit.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.root / "advanced.config"),
        }

    def ctl(self, *arguments: str, timeout: float = 120) -> str:
        """``rabbitmqctl -n <this node> …``; its output. CalledProcessError on failure."""
        done = subprocess.run(
            ["rabbitmqctl", "-n", self.node, *arguments],
            check=True,
            capture_output=True,
            text=True,
            env=self._env(),
            timeout=timeout,
        )
        return done.stdout

    def start(self) -> None:
        """Start the node (on its data, if it had run) and wait until it has booted."""
        if not rabbitmq_installed():
            raise RuntimeError("a private RabbitMQ needs rabbitmq-server installed")
        self.root.mkdir(parents=True, exist_ok=True)
        _give(self.root, "rabbitmq")
        (self.root / "enabled_plugins").write_text("[].\n")
        _give(self.root / "enabled_plugins", "rabbitmq")
        (self.root / "advanced.config").write_text(self.advanced_config + "\n")
        _give(self.root / "advanced.config", "rabbitmq")
        subprocess.run(["rabbitmq-server", "-detached"], check=True, env=self._env())
        self.ctl("wait", str(self.root / "rabbit.pid"), "--timeout", "120", timeout=150)

    @property
    def pid(self) -> int | None:
        """The node's Erlang VM, while it runs."""
        try:
            pid = int((self.root / "rabbit.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    @property
    def running(self) -> bool:
        return self.pid is not None

    def kill(self) -> None:
        """SIGKILL: no shutdown, as when the node's machine dies."""
        pid = self.pid
        if pid is not None:
            _sigkill(pid)
            _wait_gone(pid)
        (self.root / "rabbit.pid").unlink(missing_ok=True)

    def crash_restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        pid = self.pid
        if pid is None:
            return
        try:
            self.ctl("stop", timeout=60)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            _sigkill(pid)
        _wait_gone(pid)


def _vhost_path(vhost: str) -> str:
    """`vhost` as an AMQP URL's path ("/" is "%2F"; empty means the default)."""
    return "" if vhost == "/" else vhost.replace("/", "%2F")


@dataclass
class PrivateRabbitCluster:
    """`size` RabbitMQ nodes in `root`, clustered, with a vhost of the run's own and one
    front address (`url`) that connects each new client to a node accepting connections,
    round-robin, as a load balancer or a Kubernetes Service does. Kill and restart
    nodes; cut every client connection at the front (`cut_connections`).

    Use as an async context manager (it starts the nodes in a thread and serves the
    front in the loop), or call `start()`/`stop()` and `await front.up()` yourself."""

    root: Path
    size: int = 3
    vhost: str = "bitloot"
    # Tracing (the firehose) on the vhost from each node's boot: `rabbitmqctl trace_on`
    # lasts only until the node restarts, and a restarted node's publishes must be seen.
    trace: bool = False
    nodes: list[PrivateRabbit] = field(init=False)
    front: RoundRobinProxy = field(init=False)

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("a cluster needs at least one node")
        traced = f'[{{rabbit, [{{trace_vhosts, [<<"{self.vhost}">>]}}]}}].'
        self.nodes = [
            PrivateRabbit(
                self.root / f"node-{index}",
                name="bitloot-cluster",
                advanced_config=traced if self.trace else "[].",
            )
            for index in range(self.size)
        ]
        self.front = RoundRobinProxy("amqp", [("127.0.0.1", n.port) for n in self.nodes])

    @property
    def url(self) -> str:
        """The one URL services are given: the front, on the run's vhost."""
        return f"amqp://guest:guest@127.0.0.1:{self.front.port}/{_vhost_path(self.vhost)}"

    @property
    def urls(self) -> list[str]:
        """Each node's own URL on the run's vhost (a node that is down refuses)."""
        return [node.url_for(self.vhost) for node in self.nodes]

    @property
    def data_dirs(self) -> list[Path]:
        """Each node's data (its message store and logs), e.g. for a leak scan."""
        return [node.root for node in self.nodes]

    def start(self) -> None:
        """Start the first node, join the others to it, and create the vhost (guest
        may do anything on it). Nodes that already ran start on their data."""
        first, *others = self.nodes
        first.start()
        for node in others:
            node.start()
            if first.node not in self._cluster_nodes(node):
                node.ctl("stop_app")
                node.ctl("join_cluster", first.node)
                node.ctl("start_app")
        first.ctl("await_online_nodes", str(self.size), "--timeout", "120", timeout=150)
        self.ctl("add_vhost", self.vhost, check=False)
        self.ctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")

    @staticmethod
    def _cluster_nodes(node: PrivateRabbit) -> str:
        return node.ctl("eval", "rabbit_nodes:all().")

    def ctl(self, *arguments: str, check: bool = True) -> str:
        """``rabbitmqctl`` against a node that runs (e.g. ``trace_on -p <vhost>``).
        With `check` False a failure is returned as its error text, not raised."""
        for node in self.nodes:
            if node.running:
                try:
                    return node.ctl(*arguments)
                except subprocess.CalledProcessError as failed:
                    if check:
                        raise
                    return str(failed.stderr)
        raise RuntimeError("no node of the cluster runs")

    def queues(self) -> dict[str, tuple[str, int]]:
        """Each queue on the vhost: its type and how many nodes hold a replica."""
        listed = self.ctl(
            "list_queues", "-p", self.vhost, "name", "type", "members", "--no-table-headers", "-q"
        )
        found = {}
        for line in listed.splitlines():
            name, kind, *members = line.split("\t")
            found[name] = (kind, sum(m.count("@") for m in members))
        return found

    def kill_node(self, index: int) -> None:
        """SIGKILL node `index` (its queues' leaders move to the others)."""
        self.nodes[index].kill()

    def start_node(self, index: int) -> None:
        """Start node `index` again on its data: it rejoins the cluster."""
        self.nodes[index].start()

    def crash_restart_node(self, index: int) -> float:
        """SIGKILL node `index`, start it again; seconds until it had booted."""
        self.kill_node(index)
        started = time.monotonic()
        self.start_node(index)
        return time.monotonic() - started

    def accepting(self) -> list[bool]:
        """Whether each node accepts AMQP connections now."""
        return [port_open("127.0.0.1", node.port) for node in self.nodes]

    async def cut_connections(self) -> None:
        """Reset every client connection open through the front (clients reconnect)."""
        await self.front.cut()

    def stop(self) -> None:
        """Stop every node, the last started first."""
        for node in reversed(self.nodes):
            node.stop()

    async def __aenter__(self) -> "PrivateRabbitCluster":
        try:
            await asyncio.to_thread(self.start)
        except BaseException:
            await asyncio.to_thread(self.stop)  # no node left running
            raise
        await self.front.up()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.front.close()
        await asyncio.to_thread(self.stop)


def _wait_gone(pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise RuntimeError(f"process {pid} still runs {timeout} s after it was stopped")
