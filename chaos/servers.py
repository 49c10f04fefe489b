"""A PostgreSQL server and a RabbitMQ node of the chaos run's own, so that it may crash
and restart them without touching the machine's shared servers (which other work uses).

Both are the real servers from the machine's packages (`.ci/run` installs them), started
from a temporary directory on free ports. As root, each runs as its package's system user
(PostgreSQL refuses to run as root; Debian's `rabbitmq-server` switches to `rabbitmq`).
"""

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bitloot_testing.net import free_port


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
        raise SystemExit("chaos needs a PostgreSQL server installed (initdb, pg_ctl)")
    return Path(initdb).parent


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster in `root`; `restart()` stops it the way a crash would."""

    root: Path
    port: int = 0

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self._bin = _postgres_bin()
        self._data = self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *arguments: str) -> None:
        command = [str(self._bin / "pg_ctl"), "-D", str(self._data), *arguments]
        subprocess.run(_as_user("postgres", command), check=True, capture_output=True)

    def start(self) -> None:
        if not self._data.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            _give(self.root, "postgres")
            initdb = [str(self._bin / "initdb"), "-D", str(self._data), "-A", "trust"]
            subprocess.run(
                _as_user("postgres", [*initdb, "-U", "postgres", "--no-sync"]),
                check=True,
                capture_output=True,
            )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300"
        )
        self._pg_ctl("-o", options, "-l", str(self.root / "postgres.log"), "-w", "start")

    def crash_restart(self) -> None:
        """Immediate shutdown (no checkpoint: the next start recovers from the WAL, as
        after a crash), then start again."""
        self._pg_ctl("-m", "immediate", "-w", "stop")
        self.start()

    def stop(self) -> None:
        if (self._data / "postmaster.pid").exists():
            self._pg_ctl("-m", "fast", "-w", "stop")


@dataclass
class PrivateRabbit:
    """A RabbitMQ node in `root`; `crash_restart()` kills it with SIGKILL and starts it
    again on the same data (durable quorum queues survive, as they must)."""

    root: Path
    port: int = 0

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.node = f"bitloot-chaos-{self.port}@localhost"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_PID_FILE": str(self.root / "rabbit.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.root / "advanced.config"),
        }

    def _ctl(self, *arguments: str) -> None:
        subprocess.run(
            ["rabbitmqctl", "-n", self.node, *arguments],
            check=True,
            capture_output=True,
            env=self._env(),
        )

    def start(self) -> None:
        if shutil.which("rabbitmq-server") is None:
            raise SystemExit("chaos needs rabbitmq-server installed")
        self.root.mkdir(parents=True, exist_ok=True)
        _give(self.root, "rabbitmq")
        (self.root / "enabled_plugins").write_text("[].\n")
        _give(self.root / "enabled_plugins", "rabbitmq")
        subprocess.run(["rabbitmq-server", "-detached"], check=True, env=self._env())
        self._ctl("wait", str(self.root / "rabbit.pid"), "--timeout", "90")

    def _pid(self) -> int | None:
        try:
            return int((self.root / "rabbit.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def crash_restart(self) -> None:
        pid = self._pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)
            (self.root / "rabbit.pid").unlink(missing_ok=True)
        self.start()

    def stop(self) -> None:
        pid = self._pid()
        if pid is None:
            return
        try:
            self._ctl("stop")
        except subprocess.CalledProcessError:
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)


def _wait_gone(pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise RuntimeError(f"process {pid} still runs {timeout} s after it was stopped")
