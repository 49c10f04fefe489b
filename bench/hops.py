"""Per hop: what each service spent on the orders of one measured window, per order, so that a
regression points at its hop.

For each service: messages consumed (every outcome) and published (confirmed), from its
own `/metrics` (bitloot_messages_consumed / bitloot_messages_published); transactions
(xact_commit + xact_rollback) and tuples read (tup_returned, tup_fetched) of its database,
from pg_stat_database; SQL statements, from the counts bench.statements keeps in the
process; CPU (user + system) of its process, from /proc. Beside them, the CPU of the
PostgreSQL server, the RabbitMQ node and the whole machine over the same window
(bench.machine), so that what bounds the rate shows even where it is not a service.

A window starts and ends on a quiet stack (`settle`): the services' CPU and message
counters are read once they have caught up with the orders (a consumer may still be working
through its backlog when the watcher has seen the last order finish), and PostgreSQL's
counters once every backend has flushed what it counted (a backend reports its counters at
most once a second while it works, and within 10 s of falling idle).
"""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from bench import machine, statements
from bench.stack import POSTGRES, Stack
from bitloot_launch.wiring import SERVICES

# PostgreSQL's PGSTAT_IDLE_INTERVAL (10 s), and a second to spare.
FLUSH_SECONDS = 11.0
# CPU seconds per second under which a service counts as idle (its timers still tick).
IDLE_CPU = 0.05

DATABASE_COUNTERS = """
SELECT datname, xact_commit + xact_rollback AS transactions, tup_returned, tup_fetched,
       tup_inserted, tup_updated, tup_deleted
FROM pg_stat_database WHERE datname = ANY($1::text[])
"""


@dataclass
class Snapshot:
    """Every counter of every service at one moment."""

    cpu_s: dict[str, float]
    messages: dict[str, dict[str, float]]  # service -> {"consumed <queue>": n, ...}
    database: dict[str, dict[str, int]]
    statements: dict[str, dict[str, int]]
    servers: dict[str, float]  # CPU seconds of PostgreSQL, RabbitMQ, the whole machine


async def settle(stack: Stack, *, limit: float = 60.0) -> float:
    """Wait until no service has used more than IDLE_CPU in a second for FLUSH_SECONDS (at
    most `limit` seconds); the seconds waited."""
    start = last_busy = time.monotonic()
    before, busy = stack.cpu_seconds(), []
    while (now := time.monotonic()) - last_busy < FLUSH_SECONDS and now - start < limit:
        await asyncio.sleep(1.0)
        after = stack.cpu_seconds()
        busy = [name for name in after if after[name] - before[name] > IDLE_CPU]
        if busy:
            last_busy = time.monotonic()
        before = after
    waited = round(time.monotonic() - start, 1)
    if time.monotonic() - last_busy < FLUSH_SECONDS:
        print(f"  still busy after {waited:g} s: {', '.join(busy) or 'a moment ago'}", flush=True)
    else:
        print(f"  services quiet, PostgreSQL's counters flushed ({waited:g} s)", flush=True)
    return waited


async def opening(stack: Stack) -> Snapshot:
    """The counters at the start of a window: /metrics scraped first (the scrape queries the
    database to set its gauges), then, the stack quiet, the rest."""
    messages = await _scrape(stack)
    await settle(stack)
    return await _counters(stack, messages)


async def closing(stack: Stack) -> Snapshot:
    """The counters at the end of a window, once the stack is quiet; /metrics last."""
    await settle(stack)
    snapshot = await _counters(stack, {})
    snapshot.messages = await _scrape(stack)
    return snapshot


async def _counters(stack: Stack, messages: dict[str, dict[str, float]]) -> Snapshot:
    counts = {
        name: await statements.snapshot(stack.pid(name), stack.statements_file(name))
        for name in SERVICES
    }
    database = await _database_counters(stack)
    return Snapshot(stack.cpu_seconds(), messages, database, counts, machine.cpu_seconds())


async def _scrape(stack: Stack) -> dict[str, dict[str, float]]:
    async with aiohttp.ClientSession() as http:
        prefix = stack.machine.bus_prefix
        return {name: await _messages(http, stack.url(name), prefix) for name in SERVICES}


def per_order(before: Snapshot, after: Snapshot, orders: int) -> dict[str, dict[str, Any]]:
    """Each service's figures per order between two snapshots."""
    figures: dict[str, dict[str, Any]] = {}
    for name in SERVICES:
        messages = _delta(before.messages[name], after.messages[name])
        database = _delta(before.database.get(name, {}), after.database.get(name, {}))
        work, control = statements.split(_delta(before.statements[name], after.statements[name]))
        kinds = _delta(before.statements[name], after.statements[name])

        def share(total: float) -> float:
            return round(total / orders, 2)

        figures[name] = {
            "consumed": share(sum(n for key, n in messages.items() if key.startswith("consumed"))),
            "published": share(
                sum(n for key, n in messages.items() if key.startswith("published"))
            ),
            "transactions": share(database.get("transactions", 0)),
            "statements": share(work),
            "transaction_control": share(control),
            "tuples_returned": share(database.get("tup_returned", 0)),
            "tuples_fetched": share(database.get("tup_fetched", 0)),
            "tuples_written": share(
                sum(database.get(f"tup_{kind}", 0) for kind in ("inserted", "updated", "deleted"))
            ),
            "cpu_ms": round((after.cpu_s[name] - before.cpu_s[name]) * 1000 / orders, 2),
            "statements_by_kind": {kind: share(n) for kind, n in sorted(kinds.items()) if n},
            "messages_by_queue_or_topic": {
                key: share(n) for key, n in sorted(messages.items()) if n
            },
        }
    return figures


def machine_per_order(before: Snapshot, after: Snapshot, orders: int) -> dict[str, float]:
    """CPU ms per order of the services together, PostgreSQL, RabbitMQ, everything else
    (the bench's load and watcher, moto, the SMTP server, the sandboxes, the kernel's
    work for no process) and the whole machine, over the window of the two snapshots."""

    def ms(seconds: float) -> float:
        return round(seconds * 1000 / orders, 2)

    used = {name: after.servers[name] - before.servers[name] for name in after.servers}
    services = sum(after.cpu_s[name] - before.cpu_s[name] for name in after.cpu_s)
    other = used["machine"] - services - used["postgresql"] - used["rabbitmq"]
    return {
        "services": ms(services),
        "postgresql": ms(used["postgresql"]),
        "rabbitmq": ms(used["rabbitmq"]),
        "other": ms(max(other, 0.0)),
        "machine": ms(used["machine"]),
    }


MACHINE_ROWS = (
    ("services", "the five services"),
    ("postgresql", "PostgreSQL"),
    ("rabbitmq", "RabbitMQ"),
    ("other", "everything else"),
    ("machine", "whole machine"),
)


def machine_table(figures: dict[str, float], null: dict[str, float] | None = None) -> str:
    """Where the machine's CPU went per order, beside the null pipeline's where measured."""
    first = max(len(title) for _, title in MACHINE_ROWS)
    head = f"{'machine CPU ms per order':<{first}}  {'pipeline':>9}  {'null':>9}"
    lines = [head, "-" * len(head)]
    for key, title in MACHINE_ROWS:
        beside = _number(null[key]) if null is not None and key in null else "-"
        lines.append(f"{title:<{first}}  {_number(figures[key]):>9}  {beside:>9}")
    return "\n".join(lines)


COLUMNS = (
    ("consumed", "consumed"),
    ("published", "published"),
    ("transactions", "xacts"),
    ("statements", "stmts"),
    ("tuples_returned", "tup ret"),
    ("tuples_fetched", "tup fetch"),
    ("cpu_ms", "CPU ms"),
)


def table(figures: dict[str, dict[str, Any]], orders: int) -> str:
    """The per-service table, one line per service and their sum."""
    services = list(figures)
    total = {key: sum(figures[name][key] for name in services) for key, _ in COLUMNS}
    rows = [(name, figures[name]) for name in services] + [("all services", total)]
    title = f"per order ({orders} orders)"
    first = max(len(title), *(len(name) for name, _ in rows))
    head = f"{title:<{first}}" + "".join(f"  {title:>9}" for _, title in COLUMNS)
    lines = [head, "-" * len(head)]
    for name, row in rows:
        cells = "".join(f"  {_number(row[key]):>9}" for key, _ in COLUMNS)
        lines.append(f"{name:<{first}}{cells}")
    lines.append(
        "statements exclude BEGIN/COMMIT; xacts = xact_commit + xact_rollback of the"
        " service's database"
    )
    return "\n".join(lines)


def _number(value: float) -> str:
    """Three significant figures or so: 1234, 123, 12.3, 1.23."""
    decimals = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:.{decimals}f}"


def _delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {key: value - before.get(key, 0) for key, value in after.items()}


async def _database_counters(stack: Stack) -> dict[str, dict[str, int]]:
    names = {f"{stack.machine.database_prefix}{name.replace('-', '_')}": name for name in SERVICES}
    connection = await asyncpg.connect(POSTGRES)
    try:
        rows = await connection.fetch(DATABASE_COUNTERS, list(names))
    finally:
        await connection.close()
    return {
        names[row["datname"]]: {key: int(value) for key, value in row.items() if key != "datname"}
        for row in rows
    }


async def _messages(http: aiohttp.ClientSession, url: str, prefix: str) -> dict[str, float]:
    async with http.get(f"{url}/metrics") as answer:
        answer.raise_for_status()
        return message_counts(await answer.text(), prefix)


def message_counts(exposition: str, prefix: str) -> dict[str, float]:
    """Consumed (by queue, every outcome) and published (by topic) messages so far, from a
    service's Prometheus text; queue names without the run's bus `prefix`."""
    counts: dict[str, float] = {}
    wanted = {
        "bitloot_messages_consumed_total": ("consumed", "queue"),
        "bitloot_messages_published_total": ("published", "topic"),
    }
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name in wanted:
                kind, label = wanted[sample.name]
                key = f"{kind} {sample.labels.get(label, '').removeprefix(prefix)}"
                counts[key] = counts.get(key, 0.0) + sample.value
    return counts
