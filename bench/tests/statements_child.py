"""Run by test_statements under `python -m bench.statements`: two SELECTs and a transaction
on raw asyncpg under uvloop (the services' loop), then "ready", then idle until killed."""

import asyncio
import sys

import asyncpg
import uvloop


async def main(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    await connection.fetchval("SELECT 1")
    await connection.fetchval("SELECT $1::int", 2)
    async with connection.transaction():
        await connection.execute("CREATE TEMPORARY TABLE seen (n int)")
    print("ready", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1]))
