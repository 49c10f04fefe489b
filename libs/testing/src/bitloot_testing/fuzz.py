"""Fuzzing a service's HTTP API from its OpenAPI description (issue #11, hostile input).

`fuzz` draws requests for every operation of the document with schemathesis, valid ones
and, in negative mode, ones that break the schema, sends each to the service's app in
process through an httpx client, and checks the answer: never a 5xx, a status code, a
content type and a body the document describes for it. The service runs in the test's
own event loop (its database pool lives there), so hypothesis runs in a worker thread
and hands each request back to that loop.

`database_state` fingerprints every table, for proving a refused request changed nothing;
`HOSTILE_BODIES` are the bodies every edge that reads one must refuse with a clear 4xx.
"""

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

_NESTED = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
HOSTILE_BODIES: dict[str, tuple[bytes, str]] = {
    "oversize": (b'{"email": "' + b"a" * 2_000_000 + b'"}', "application/json"),
    "wrong content type": (b"email=a@example.com", "application/x-www-form-urlencoded"),
    "invalid utf-8": (b'{"email": "\xff\xfe"}', "application/json"),
    "deeply nested": (_NESTED, "application/json"),
    "duplicate keys": (b'{"email": "a@example.com", "email": "b@example.com"}', "application/json"),
    "huge number": (b'{"price_amount": 1' + b"0" * 5000 + b"}", "application/json"),
    "float overflowing": (b'{"price_amount": 1e999}', "application/json"),
    "lone surrogate": (b'{"email": "\\ud800@example.com"}', "application/json"),
    "not an object": (b"[1, 2, 3]", "application/json"),
    "not json": (b"{not json", "application/json"),
}
"""Name: (body, content type)."""


def refusal(answer: httpx.Response) -> tuple[int, str | None]:
    """The status of `answer` and its machine-readable ``error``, if its body has one."""
    try:
        document = json.loads(answer.content) if answer.content else None
    except ValueError:
        document = None
    reason = document.get("error") if isinstance(document, dict) else None
    return answer.status_code, reason if isinstance(reason, str) else None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
BASE_URL = "http://fuzz.test"
# Table names come from PostgreSQL's catalog, not from input.
_FINGERPRINT = (
    "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t"
)
Signer = Callable[[bytes], Mapping[str, str]]
"""Extra headers for a body about to be sent (a webhook signature over exactly it)."""


@dataclass
class Target:
    """What to fuzz: operations (``"POST /orders"``) chosen by `wanted`, sent with
    `headers` (a credential, say) and `sign`'s headers, path parameters pinned to
    `path_parameters` where the operation has them."""

    wanted: Callable[[str], bool] = lambda _label: True
    headers: Mapping[str, str] = field(default_factory=dict)
    sign: Signer | None = None
    path_parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Report:
    """Operations fuzzed (path, method), requests sent, and each failure."""

    operations: set[tuple[str, str]] = field(default_factory=set)
    requests: int = 0
    failures: list[str] = field(default_factory=list)


def _request(case: Any, target: Target) -> httpx.Request:
    sent = case.as_transport_kwargs(base_url=BASE_URL, headers=dict(target.headers))
    headers = dict(sent.get("headers") or {})
    content: bytes | None = None
    if "json" in sent:
        content = json.dumps(sent["json"]).encode()
    elif sent.get("data") is not None:
        data = sent["data"]
        content = data if isinstance(data, bytes) else str(data).encode()
    if content is not None and target.sign is not None:
        headers.update(target.sign(content))
    return httpx.Request(
        sent["method"],
        sent["url"],
        params=sent.get("params"),
        headers=headers,
        cookies=sent.get("cookies"),
        content=content,
    )


async def fuzz(
    http: httpx.AsyncClient,
    document: dict[str, Any],
    target: Target,
    *,
    examples: int = 20,
) -> Report:
    """Send up to `examples` requests per operation of `target` and generation mode."""
    loop = asyncio.get_running_loop()
    report = Report()

    def send(request: httpx.Request) -> httpx.Response:
        future = asyncio.run_coroutine_threadsafe(http.send(request), loop)
        return future.result(timeout=30)

    def run() -> None:
        schema = schemathesis.openapi.from_dict(document)
        for result in schema.get_all_operations():
            if not isinstance(result, Ok):
                report.failures.append(f"unreadable operation: {result.err()}")
                continue
            operation = result.ok()
            label = f"{operation.method.upper()} {operation.path}"
            if not target.wanted(label):
                continue
            report.operations.add((operation.path, operation.method.lower()))
            pinned = {
                name: value
                for name, value in target.path_parameters.items()
                if "{" + name + "}" in operation.path
            }
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(
                    generation_mode=mode, path_parameters=pinned or None
                )

                @settings(
                    max_examples=examples,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=strategy)
                def check(case: Any) -> None:
                    response = send(_request(case, target))
                    report.requests += 1
                    case.validate_response(response, checks=CHECKS)

                try:
                    check()
                except Unsatisfiable:
                    pass  # nothing to break in a request without parameters or body
                # Check failures come as a BaseExceptionGroup (schemathesis' FailureGroup); every
                # operation is tried, and all failures reported together.
                except (Exception, BaseExceptionGroup) as exc:
                    report.failures.append(f"{label} ({mode.value}): {exc}")

    started = time.monotonic()
    await asyncio.to_thread(run)
    logger.info(
        "fuzzed %d operations with %d requests in %.1f s: %d failures",
        len(report.operations),
        report.requests,
        time.monotonic() - started,
        len(report.failures),
    )
    return report


async def database_state(
    engine: AsyncEngine, leave_out: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Every table of the service's database (but `leave_out`) with an md5 of its rows."""
    async with engine.connect() as connection:
        tables = await connection.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        )
        state: dict[str, str] = {}
        for table in sorted(set(tables) - leave_out):
            query = _FINGERPRINT.format(table=table)
            state[table] = str(await connection.scalar(text(query)))
    return state


async def unchanged_by(
    engine: AsyncEngine, action: Awaitable[Report], leave_out: frozenset[str] = frozenset()
) -> tuple[Report, dict[str, tuple[str, str]]]:
    """Run `action`; its report and every table whose rows it changed (before, after)."""
    before = await database_state(engine, leave_out)
    report = await action
    after = await database_state(engine, leave_out)
    changed = {
        t: (before.get(t, ""), after.get(t, ""))
        for t in before.keys() | after.keys()
        if before.get(t) != after.get(t)
    }
    return report, changed
