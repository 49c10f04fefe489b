"""One run's names on shared servers: a bus prefix and a database prefix, and the cleanup
that removes exactly what the run created, so that runs never touch each other's data."""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg

from bitloot_launch.wiring import SERVICES
from bitloot_runtime.settings import DEFAULT_RETRY_DELAYS
from bitloot_testing.rabbitmq import BusNamespace


@dataclass(frozen=True)
class Namespace:
    """Exchanges and queues named `bus_prefix`, databases `database_prefix` + service."""

    bus_prefix: str
    database_prefix: str
    postgres_url: str  # the server's administrative URL (plain, for asyncpg)
    amqp_url: str

    @classmethod
    def fresh(cls, kind: str, postgres_url: str, amqp_url: str) -> "Namespace":
        """New names for a run of `kind`: ``bench1a2b3c.``, ``bitloot_bench_1a2b3c_``."""
        run_id = secrets.token_hex(3)
        return cls(f"{kind}{run_id}.", f"bitloot_{kind}_{run_id}_", postgres_url, amqp_url)

    def bus(self, delays: Iterable[float] = DEFAULT_RETRY_DELAYS) -> BusNamespace:
        """Every exchange and queue the services declare under the bus prefix."""
        return BusNamespace.for_services(self.bus_prefix, self.amqp_url, SERVICES, delays)

    def database(self, name: str) -> str:
        return self.database_prefix + name.replace("-", "_")

    async def drop_databases(self, extra: Iterable[str] = ()) -> None:
        """Drop each service's database, and `extra` ones under the same prefix."""
        admin = await asyncpg.connect(self.postgres_url)
        try:
            for name in [*SERVICES, *extra]:
                await admin.execute(f'DROP DATABASE IF EXISTS "{self.database(name)}" WITH (FORCE)')
        finally:
            await admin.close()

    async def cleanup(
        self, extra_databases: Iterable[str] = (), delays: Iterable[float] = DEFAULT_RETRY_DELAYS
    ) -> None:
        """Drop the run's databases and delete its exchanges and queues."""
        await self.drop_databases(extra_databases)
        await self.bus(delays).delete_all()
