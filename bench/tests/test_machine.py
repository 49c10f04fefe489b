"""bench.machine finds the real PostgreSQL and RabbitMQ processes and counts their CPU."""

import asyncpg
import pytest

from bench import machine
from bench.stack import POSTGRES

# On a laptop the servers may run in containers this kernel does not show as processes.
pytestmark = pytest.mark.skipif(
    not any(command in machine.SERVERS for command, *_ in machine.processes()),
    reason="no PostgreSQL or RabbitMQ process visible on this machine",
)


async def test_work_done_in_postgresql_shows_in_its_cpu_and_the_machine_s() -> None:
    before = machine.cpu_seconds()
    connection = await asyncpg.connect(POSTGRES)
    try:
        # About a second of one backend's CPU, in a backend that exits before the reading:
        # its time must still count (the postmaster's reaped children).
        await connection.fetchval("SELECT count(*) FROM generate_series(1, 15000000)")
    finally:
        await connection.close()
    after = machine.cpu_seconds()
    spent = {name: after[name] - before[name] for name in after}
    assert spent["postgresql"] >= 0.3
    assert spent["machine"] >= spent["postgresql"]


def test_the_rabbitmq_node_and_the_machine_have_used_cpu_since_they_started() -> None:
    used = machine.cpu_seconds()
    assert used["rabbitmq"] > 0
    assert used["machine"] > used["rabbitmq"]
