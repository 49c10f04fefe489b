"""Retention sweeps: rows of a log kept past their period are deleted in batches, each
batch in one transaction with the audit of what it removed.

A service names its rules (`Rule`: a class of rows, how long it is kept, and how to
delete a batch of it past a cut-off) and an `Audit` that records a batch in the batch's
own transaction; `RetentionSweep` runs them. A crash or an error between batches leaves
every committed batch deleted and audited and nothing else changed, and the next sweep
carries on where it stopped. Each rule deletes with ``FOR UPDATE SKIP LOCKED``, so two
instances sweeping at once split the rows between them.

`retention_log_table` is the audit table of a service that has no audit of its own
(payments, the gateway): one row per batch deleted.
"""

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    insert,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_runtime.db import UnitOfWork, create_engine, migrate
from bitloot_runtime.errors import ConfigError
from bitloot_runtime.settings import ServiceSettings, load_settings
from bitloot_runtime.worker import Pass, Worker

logger = logging.getLogger(__name__)

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@dataclass(frozen=True)
class RetentionPeriod:
    """How long one class of rows is kept; never a moment less."""

    period: timedelta

    def __post_init__(self) -> None:
        if self.period <= timedelta(0):
            raise ValueError(f"Retention period {self.period} is not positive.")

    def cutoff(self, now: datetime) -> datetime:
        """Rows from strictly before this instant are due for deletion at `now`."""
        return now - self.period


@dataclass(frozen=True)
class InboundLogRetention:
    """The two periods of a log of inbound calls (IPNs, webhooks): calls that failed
    authentication prove nothing and go soon; authentic ones are a record and stay long."""

    unauthenticated: RetentionPeriod
    authenticated: RetentionPeriod

    @classmethod
    def of_days(cls, unauthenticated: float, authenticated: float) -> "InboundLogRetention":
        return cls(
            RetentionPeriod(timedelta(days=unauthenticated)),
            RetentionPeriod(timedelta(days=authenticated)),
        )


class Rule(Protocol):
    """One class of rows of one table and how to delete it past a cut-off."""

    @property
    def table(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def retention(self) -> RetentionPeriod: ...

    async def count_due(self, connection: AsyncConnection, cutoff: datetime) -> int:
        """How many rows are due (for a dry run)."""
        ...

    async def delete_due(self, connection: AsyncConnection, cutoff: datetime, limit: int) -> int:
        """Delete at most `limit` due rows that no other transaction holds; how many."""
        ...


@dataclass(frozen=True)
class SqlRule:
    """A `Rule` over `table`: the rows whose `time_column` is before the cut-off and that
    match `due_when` (SQL over its columns, the table named as itself in
    it), deleted by `key_column`, oldest first."""

    table: str
    name: str
    retention: RetentionPeriod
    due_when: str
    time_column: str
    key_column: str = "id"

    def _due(self, select: str) -> str:
        return (
            # Names and conditions are the service's constants; values are parameters.
            f"SELECT {select} FROM {self.table} WHERE {self.time_column} < :cutoff"  # noqa: S608
            f" AND ({self.due_when})"
        )

    async def count_due(self, connection: AsyncConnection, cutoff: datetime) -> int:
        found = await connection.scalar(text(self._due("count(*)")), {"cutoff": cutoff})
        return int(found or 0)

    def delete_statement(self) -> str:
        """The SQL of one batch (parameters ``cutoff`` and ``limit``)."""
        batch = (
            f"{self._due(self.key_column)} ORDER BY {self.time_column} LIMIT :limit"
            f" FOR UPDATE OF {self.table} SKIP LOCKED"
        )
        return f"DELETE FROM {self.table} WHERE {self.key_column} IN ({batch})"  # noqa: S608

    async def delete_due(self, connection: AsyncConnection, cutoff: datetime, limit: int) -> int:
        statement = text(self.delete_statement())
        result = await connection.execute(statement, {"cutoff": cutoff, "limit": limit})
        return int(result.rowcount)


@dataclass(frozen=True)
class Swept:
    """What one rule removed (or, in a dry run, would remove) in one sweep."""

    table: str
    rule: str
    cutoff: datetime
    rows: int


# Records a deleted batch in the batch's transaction.
Audit = Callable[[AsyncConnection, Swept], Awaitable[None]]


class RetentionSweep:
    """Runs `rules` in batches of `batch_size`, each batch audited by `audit`."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        rules: Sequence[Rule],
        audit: Audit,
        batch_size: int = 500,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"Retention batch size {batch_size} is not positive.")
        self._unit_of_work = unit_of_work
        self._rules = tuple(rules)
        self._audit = audit
        self._batch_size = batch_size
        self._clock = clock

    async def sweep(self, dry_run: bool = False) -> list[Swept]:
        """Apply every rule once; what each removed (with `dry_run`: would remove, with
        nothing changed)."""
        now = self._clock()
        report = []
        for rule in self._rules:
            cutoff = rule.retention.cutoff(now)
            rows = await (self._count(rule, cutoff) if dry_run else self._delete(rule, cutoff))
            swept = Swept(rule.table, rule.name, cutoff, rows)
            report.append(swept)
            logger.info(
                "retention swept",
                extra={
                    "table": swept.table,
                    "rule": swept.rule,
                    "cutoff": cutoff.isoformat(),
                    "rows": rows,
                    "dry_run": dry_run,
                },
            )
        return report

    async def _count(self, rule: Rule, cutoff: datetime) -> int:
        async with self._unit_of_work() as uow:
            return await rule.count_due(uow.session, cutoff)

    async def _delete(self, rule: Rule, cutoff: datetime) -> int:
        total = 0
        while True:
            async with self._unit_of_work() as uow:
                rows = await rule.delete_due(uow.session, cutoff, self._batch_size)
                if rows:
                    await self._audit(uow.session, Swept(rule.table, rule.name, cutoff, rows))
                await uow.commit()
            total += rows
            if rows < self._batch_size:
                return total


def sweeper(action: Pass, interval_seconds: float, name: str = "retention sweep") -> Worker:
    """The "retention" worker: `action` now and every `interval_seconds`; a failure is
    logged (`name` failed) and the next round tries again."""
    return Worker(
        "retention",
        action,
        interval=interval_seconds,
        log=lambda exc: logger.error("%s failed; will try again", name, exc_info=exc),
    )


def retention_log_table(metadata: MetaData) -> Table:
    """The audit of retention in `metadata`: one row per batch of rows deleted."""
    return Table(
        "retention_log",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("swept_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("table_name", Text, nullable=False),
        Column("rule", Text, nullable=False),
        Column("cutoff", DateTime(timezone=True), nullable=False),
        Column("rows", Integer, nullable=False),
    )


def audit_to(table: Table) -> Audit:
    """An `Audit` writing each batch to `table` (built by `retention_log_table`)."""

    async def audit(connection: AsyncConnection, swept: Swept) -> None:
        await connection.execute(
            insert(table).values(
                table_name=swept.table, rule=swept.rule, cutoff=swept.cutoff, rows=swept.rows
            )
        )

    return audit


def main(
    argv: Sequence[str],
    *,
    service: str,
    settings_class: type[SettingsT],
    metadata: MetaData,
    versions: list[Path],
    build: Callable[[SettingsT, Callable[[], UnitOfWork]], RetentionSweep],
) -> int:
    """``python -m bitloot_<service> retention [--dry-run]``: sweep once now with the
    `RetentionSweep` that `build` makes from the service's settings (the database
    migrated first, as at service start), print what was deleted (with ``--dry-run``:
    what would be, changing nothing); the exit status."""
    parser = argparse.ArgumentParser(prog=f"python -m bitloot_{service}")
    commands = parser.add_subparsers(required=True)
    retention = commands.add_parser("retention", help="delete rows past retention now")
    retention.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    dry_run = bool(parser.parse_args(list(argv)).dry_run)
    try:
        settings = load_settings(settings_class)
    except ConfigError as exc:
        print(f"{service}: {exc}", file=sys.stderr)
        return 2
    report = asyncio.run(_sweep_once(settings, metadata, versions, build, dry_run))
    verb = "would delete" if dry_run else "deleted"
    for swept in report:
        print(
            f"{verb} {swept.rows} {swept.table} rows ({swept.rule})"
            f" older than {swept.cutoff.isoformat(timespec='seconds')}"
        )
    return 0


async def _sweep_once(
    settings: SettingsT,
    metadata: MetaData,
    versions: list[Path],
    build: Callable[[SettingsT, Callable[[], UnitOfWork]], RetentionSweep],
    dry_run: bool,
) -> list[Swept]:
    await migrate(settings.database_url, metadata, versions)
    engine = create_engine(settings.database_url, max_connections=4)
    try:
        return await build(settings, lambda: UnitOfWork(engine)).sweep(dry_run=dry_run)
    finally:
        await engine.dispose()
