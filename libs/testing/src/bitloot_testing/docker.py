"""Whether a Docker engine answers (a developer laptop), not merely whether a client is
installed (CI here has the `docker` client and no engine)."""

import shutil
import subprocess
from functools import cache

# Long enough for a busy Docker Desktop to answer, short enough not to stall every run
# on a machine whose engine hangs.
PROBE_TIMEOUT = 5.0


@cache
def docker_engine_available() -> bool:
    """Whether containers can be started; asked once per process."""
    return docker_engine_answers()


def docker_engine_answers(timeout: float = PROBE_TIMEOUT) -> bool:
    """Ask the engine the `docker` client points at (DOCKER_HOST, the current context or
    the default socket) for its version; any failure to answer means no engine."""
    if shutil.which("docker") is None:
        return False
    # The client in a child process, not docker-py in this one: docker-py leaks its socket
    # when the engine is absent, which surfaces as an unraisable warning in a random test.
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],  # noqa: S607
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except Exception:
        return False
    return result.returncode == 0 and bool(result.stdout.strip())
