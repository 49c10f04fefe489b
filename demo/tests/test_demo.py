"""`make demo` as a new user runs it: one process, nothing but Python, a summary line."""

import os
import re
import subprocess
import sys

import pytest

from bitloot_testing.net import free_port

SUMMARY = re.compile(
    r"^demo: (\d+)/(\d+) orders fulfilled, (\d+) failed, time-to-key p50 \d+ ms p99 \d+ ms$",
    re.MULTILINE,
)


@pytest.mark.slow
def test_demo_fulfills_every_order_in_one_process_and_prints_the_summary() -> None:
    # No AMQP_URL or DATABASE_URL: the in-memory broker and the embedded PostgreSQL.
    env = {k: v for k, v in os.environ.items() if k not in ("AMQP_URL", "DATABASE_URL")}
    command = [sys.executable, "-m", "bitloot_demo", "--orders", "4", "--no-serve"]
    result = subprocess.run(
        [*command, "--port", str(free_port()), "--timeout", "90"],
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    match = SUMMARY.search(result.stdout)
    assert match is not None, result.stdout
    assert match.group(1, 2, 3) == ("4", "4", "0")
    assert "reveals a key that matches Kinguin's" in result.stdout
