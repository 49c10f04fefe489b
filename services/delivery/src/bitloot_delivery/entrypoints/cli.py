"""Operator commands, run beside the service (never instead of it):

- ``python -m bitloot_delivery rewrap [--batch-size N]``: re-wrap every data key with
  the current KEK (``DELIVERY_KEK_CURRENT_ID``), printing progress; safe to run while the
  service runs and to run again. Exit 1 if a data key would not unwrap.
- ``python -m bitloot_delivery retention [--dry-run]``: delete keys past the retention
  period now (the service also does it every ``DELIVERY_RETENTION_SWEEP_SECONDS``);
  with ``--dry-run``, only list the orders that would be purged.

Settings are read from the same DELIVERY_* environment as the service; the database is
migrated first, as at service start.
"""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bitloot_delivery.adapters.object_store import object_store
from bitloot_delivery.adapters.orm import metadata
from bitloot_delivery.adapters.unit_of_work import DeliveryUnitOfWork
from bitloot_delivery.domain.retention import RetentionPolicy
from bitloot_delivery.handlers.retention import RetentionSweep
from bitloot_delivery.handlers.rewrap import Rewrap, RewrapReport
from bitloot_delivery.migrations import VERSIONS
from bitloot_delivery.settings import Settings
from bitloot_runtime.db import create_engine, migrate
from bitloot_runtime.errors import ConfigError
from bitloot_runtime.settings import load_settings

Command = Callable[[Settings, Callable[[], DeliveryUnitOfWork], argparse.Namespace], Awaitable[int]]


def main(argv: list[str]) -> int:
    """Run the command in `argv` (without the program name); the process's exit status."""
    arguments = _parser().parse_args(argv)
    try:
        settings = load_settings(Settings)
    except ConfigError as exc:
        print(f"delivery: {exc}", file=sys.stderr)
        return 2
    command: Command = arguments.command
    return asyncio.run(_with_database(settings, command, arguments))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bitloot_delivery")
    commands = parser.add_subparsers(required=True)
    rewrap = commands.add_parser("rewrap", help="re-wrap every data key with the current KEK")
    rewrap.add_argument(
        "--batch-size", type=int, default=100, choices=range(1, 10_001), metavar="N"
    )
    rewrap.set_defaults(command=_rewrap)
    retention = commands.add_parser("retention", help="delete keys past retention now")
    retention.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    retention.set_defaults(command=_retention)
    return parser


async def _with_database(
    settings: Settings, command: Command, arguments: argparse.Namespace
) -> int:
    await migrate(settings.database_url, metadata, [VERSIONS])
    engine = create_engine(settings.database_url, max_connections=4)
    try:
        return await command(settings, lambda: DeliveryUnitOfWork(engine), arguments)
    finally:
        await engine.dispose()


async def _rewrap(
    settings: Settings,
    unit_of_work: Callable[[], DeliveryUnitOfWork],
    arguments: argparse.Namespace,
) -> int:
    keks = settings.key_encryption_keys()
    rewrap = Rewrap(unit_of_work=unit_of_work, keks=keks, batch_size=arguments.batch_size)

    def progress(report: RewrapReport) -> None:
        print(f"re-wrapped {report.rewrapped} data keys ({len(report.failed)} failed)", flush=True)

    report = await rewrap(progress)
    print(f"done: {report.rewrapped} data keys now under KEK {keks.current_id!r}")
    for order_id in report.failed:
        print(f"could not re-wrap the data key of order {order_id}", file=sys.stderr)
    return 1 if report.failed else 0


async def _retention(
    settings: Settings,
    unit_of_work: Callable[[], DeliveryUnitOfWork],
    arguments: argparse.Namespace,
) -> int:
    store = object_store(settings)
    policy = RetentionPolicy(timedelta(days=settings.retention_days))
    sweep = RetentionSweep(unit_of_work=unit_of_work, store=store, policy=policy)
    try:
        purged = await sweep.sweep(dry_run=arguments.dry_run)
    finally:
        await store.aclose()
    verb = "would purge" if arguments.dry_run else "purged"
    for order_id in purged:
        print(f"{verb} order {order_id}")
    print(f"{verb} {len(purged)} deliveries older than {settings.retention_days:g} days")
    return 0
