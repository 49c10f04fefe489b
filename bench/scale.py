"""History: `count` more orders in every service's database, written straight with SQL.

Each service's tables are filled in the shape they already use: every row a real order of
an earlier phase left in a table keyed by order (saga and its transitions, reservation,
webhook log, delivery, keys, emails, outbox rows, payment and IPN log...) is copied
`count` times with a new order id, new values in its unique columns and a fresh identity;
each consumer's inbox gets as many processed messages. One INSERT ... SELECT over
generate_series per table, then ANALYZE, so a query that scans history shows at once.
"""

import time

import asyncpg

from bench.stack import Stack

SERVICES_WITH_SAGAS = ("kinguin-gateway", "fulfillment", "delivery")
SKIPPED = {"dead_letters", "alembic_version"}

COLUMNS = """
SELECT c.table_name, c.column_name, c.data_type, c.is_identity = 'YES' AS identity,
       EXISTS (
         SELECT 1 FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
         WHERE i.indrelid = (quote_ident(c.table_name))::regclass AND i.indisunique
           AND a.attname = c.column_name
       ) AS is_unique
FROM information_schema.columns c
WHERE c.table_schema = 'public'
ORDER BY c.table_name, c.ordinal_position
"""


async def prefill(stack: Stack, count: int) -> None:
    """`count` orders of history in payments, the gateway, fulfilment and delivery."""
    start = time.monotonic()
    for service in ("payments", *SERVICES_WITH_SAGAS):
        connection = await asyncpg.connect(stack.database_dsn(service))
        try:
            rows = await _fill(connection, count)
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
        print(f"  {service}: {rows} rows of history ({time.monotonic() - start:.0f} s)", flush=True)


async def _fill(connection: asyncpg.Connection, count: int) -> int:
    template = await _template_order(connection)
    # Rows go in table by table, children before parents perhaps: no foreign-key checks.
    await connection.execute("SET session_replication_role = replica")
    tables: dict[str, list[asyncpg.Record]] = {}
    for column in await connection.fetch(COLUMNS):
        tables.setdefault(column["table_name"], []).append(column)
    written = 0
    for table, columns in tables.items():
        names = {c["column_name"] for c in columns}
        if table in SKIPPED:
            continue
        if "order_id" in names and _type(columns, "order_id") == "uuid":
            written += await _clone(connection, table, columns, template, count)
        elif table == "inbox":
            written += await _inbox(connection, count)
    return written


async def _template_order(connection: asyncpg.Connection) -> object:
    """An order that went all the way: a fulfilled saga's, else one with a payment."""
    for query in (
        "SELECT order_id FROM sagas WHERE state = 'fulfilled' LIMIT 1",
        "SELECT order_id FROM deliveries WHERE emailed_at IS NOT NULL LIMIT 1",
        "SELECT order_id FROM reservations WHERE keys_sealed_at IS NOT NULL LIMIT 1",
        "SELECT order_id FROM payments LIMIT 1",
    ):
        try:
            found = await connection.fetchval(query)
        except asyncpg.UndefinedTableError:
            continue
        if found is not None:
            return found
    raise SystemExit("no finished order to copy as history; did the pipeline phase run?")


def _type(columns: list[asyncpg.Record], name: str) -> str:
    return str(next(c["data_type"] for c in columns if c["column_name"] == name))


def _expression(column: asyncpg.Record) -> str:
    name, kind = f'"{column["column_name"]}"', column["data_type"]
    if column["column_name"] == "order_id":
        return "md5('history' || g)::uuid"
    if not column["is_unique"]:
        return name
    if kind == "uuid":
        return "gen_random_uuid()"
    if kind == "text":
        return f"{name} || '-h' || g"
    return name


async def _clone(
    connection: asyncpg.Connection,
    table: str,
    columns: list[asyncpg.Record],
    template: object,
    count: int,
) -> int:
    kept = [c for c in columns if not c["identity"]]
    targets = ", ".join(f'"{c["column_name"]}"' for c in kept)
    values = ", ".join(_expression(c) for c in kept)
    status = await connection.execute(
        f'INSERT INTO "{table}" ({targets}) SELECT {values} '  # noqa: S608 - names from the catalogue
        f'FROM (SELECT * FROM "{table}" WHERE order_id = $1) AS t, generate_series(1, $2) AS g',
        template,
        count,
    )
    return int(status.split()[-1])


async def _inbox(connection: asyncpg.Connection, count: int) -> int:
    status = await connection.execute(
        "INSERT INTO inbox (consumer, message_id) SELECT c.consumer, gen_random_uuid()::text "
        "FROM (SELECT DISTINCT consumer FROM inbox) AS c, generate_series(1, $1)",
        count,
    )
    return int(status.split()[-1])
