"""The ingress baseline: the services' server stack (uvicorn, Starlette, the runtime's
SQLAlchemy engine on asyncpg) with an endpoint that does one INSERT per request and nothing
else. What the IPN endpoint costs beyond this is the work of the IPN itself.

    python -m bench.baseline_app   (BASELINE_DATABASE_URL, BASELINE_PORT)
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bitloot_runtime.db import create_engine

DATABASE_URL = os.environ.get("BASELINE_DATABASE_URL", "")
INSERT = text("INSERT INTO hits (body) VALUES (:body)")


def build(database_url: str) -> Starlette:
    engine = create_engine(database_url)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.execute(
                text("CREATE TABLE IF NOT EXISTS hits (id bigserial PRIMARY KEY, body bytea)")
            )
        yield
        await engine.dispose()

    async def hit(request: Request) -> JSONResponse:
        body = await request.body()
        async with engine.begin() as connection:
            await connection.execute(INSERT, {"body": body})
        return JSONResponse({"status": "ok"})

    async def ready(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ready"})

    routes = [Route("/baseline", hit, methods=["POST"]), Route("/readyz", ready)]
    return Starlette(routes=routes, lifespan=lifespan)


if __name__ == "__main__":
    uvicorn.run(
        build(DATABASE_URL),
        host="127.0.0.1",
        port=int(os.environ["BASELINE_PORT"]),
        log_config=None,
        access_log=False,
    )
