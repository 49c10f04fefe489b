"""Slow clients against one service: opens N connections that send a request head a byte
at a time and never finish it, and prints each second how many the server still holds.

    python bench/slowloris.py --port 8000 --connections 1600 --seconds 60

Against a service before issue #23 (uvicorn alone) all 1,600 stayed open for the 60 s;
with `<SVC>_HTTP_HEADER_TIMEOUT` (10 s by default) none is held past about 10 s, and
`<SVC>_HTTP_MAX_CONNECTIONS` closes those beyond it at once (measured: 300 connections
against `run` with a 3 s header timeout, all 300 held at 2 s, none at 4 s). Not part of
`make bench`.
"""

import argparse
import asyncio
import time

HEAD = b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Slow: " + b"a" * 100_000


async def hold(host: str, port: int, gap: float, until: float, open_now: set[int]) -> None:
    """One slow connection, in `open_now` while the server keeps it."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return
    open_now.add(id(writer))
    try:
        for byte in HEAD:
            if time.monotonic() > until:
                return
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                if await asyncio.wait_for(reader.read(1), timeout=gap) == b"":
                    return
            except TimeoutError:
                continue
    except OSError:
        return
    finally:
        open_now.discard(id(writer))
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=1600)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between bytes")
    args = parser.parse_args()
    until = time.monotonic() + args.seconds
    open_now: set[int] = set()
    tasks = [
        asyncio.create_task(hold(args.host, args.port, args.gap, until, open_now))
        for _ in range(args.connections)
    ]
    started = time.monotonic()
    while not all(task.done() for task in tasks):
        print(f"{time.monotonic() - started:5.1f} s: {len(open_now)} held open", flush=True)
        await asyncio.sleep(1.0)
    print(f"done: {len(open_now)} held open after {args.seconds:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())
