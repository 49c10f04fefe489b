"""Retention of the IPN logs on the real database: forged IPNs (payment and payout) go
after the short period, authentic ones after the long one and only once nothing can need
them (their order, or their payout and its refund, ended); every batch is
audited in its own transaction; a dry run changes nothing; a sweep cut short by an error
leaves what it did audited and the next one finishes."""

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bitloot_payments.adapters.orm import (
    flags,
    ipn_log,
    metadata,
    orders,
    payout_ipns,
    payouts,
    refunds,
    retention_log,
)
from bitloot_payments.adapters.retention import audit as retention_audit
from bitloot_payments.adapters.retention import ipn_rules, payout_ipn_rules
from bitloot_payments.migrations import VERSIONS
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.retention import InboundLogRetention, RetentionSweep, SqlRule, Swept
from bitloot_runtime.tokens import generate_key_pair
from bitloot_testing.retention import (
    DAY,
    LONG,
    POLICY,
    SHORT,
    assert_batches_use,
    engine_fixture,
    sweep_on,
)

engine = engine_fixture(metadata, [VERSIONS])


def sweep_of(
    engine: AsyncEngine,
    batch_size: int = 500,
    rules: Callable[[InboundLogRetention], list[SqlRule]] = ipn_rules,
) -> RetentionSweep:
    return sweep_on(engine, rules(POLICY), retention_audit(), batch_size)


async def order(connection: AsyncConnection, status: str, fulfilment: str | None = None) -> UUID:
    order_id = uuid4()
    await connection.execute(
        insert(orders).values(
            order_id=order_id, email="a@b.test", status=status, total=1, currency="usd",
            fulfilment_state=fulfilment,
        )
    )  # fmt: skip
    return order_id


async def refund(connection: AsyncConnection, order_id: UUID, status: str) -> int:
    refund_id = await connection.scalar(
        insert(refunds).values(
            order_id=order_id, amount=1, currency="usd", reason="order_failed",
            requested_by="saga", status=status,
        ).returning(refunds.c.id)
    )  # fmt: skip
    assert refund_id is not None
    return int(refund_id)


async def ipn(
    connection: AsyncConnection,
    age: timedelta,
    *,
    authentic: bool = True,
    order_id: UUID | None = None,
    result: str = "paid",
) -> int:
    processed = None if result == "pending" else func.now()
    row_id = await connection.scalar(
        insert(ipn_log)
        .values(
            received_at=func.now() - age, raw_body=b"{}", signature_valid=authentic,
            order_id=order_id, duplicate=False, result=result, processed_at=processed,
        )
        .returning(ipn_log.c.id)
    )  # fmt: skip
    assert row_id is not None
    return int(row_id)


async def remaining(engine: AsyncEngine, table: Table = ipn_log) -> set[int]:
    async with engine.connect() as connection:
        return set((await connection.scalars(select(table.c.id))).all())


async def test_forged_ipns_go_after_the_short_period_and_authentic_ones_stay(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        ended = await order(connection, "expired")
        old_forged = await ipn(connection, SHORT + DAY, authentic=False)
        young_forged = await ipn(connection, SHORT - DAY, authentic=False)
        authentic = await ipn(connection, SHORT + DAY, order_id=ended)
    report = await sweep_of(engine).sweep()
    assert [(s.rule, s.rows) for s in report] == [("unauthenticated", 1), ("authenticated", 0)]
    assert await remaining(engine) == {young_forged, authentic}
    assert old_forged not in await remaining(engine)


async def test_authentic_ipns_go_after_the_long_period_only_once_nothing_needs_them(
    engine: AsyncEngine,
) -> None:
    old = LONG + DAY
    async with engine.begin() as connection:
        fulfilled = await order(connection, "paid", "fulfilled")
        unpaid = await order(connection, "waiting")
        saga_running = await order(connection, "paid", None)
        failed_unrefunded = await order(connection, "paid", "failed")
        failed_refunded = await order(connection, "paid", "failed")
        await refund(connection, failed_refunded, "sent")
        refund_owed = await order(connection, "refunded")
        await refund(connection, refund_owed, "claimed")
        flagged = await ipn(connection, old, order_id=fulfilled)
        await connection.execute(
            insert(flags).values(kind="late_payment", ipn_id=flagged, detail="late")
        )
        gone = {
            await ipn(connection, old, order_id=fulfilled),
            await ipn(connection, old, order_id=await order(connection, "expired")),
            await ipn(connection, old, order_id=failed_refunded),
            await ipn(connection, old, order_id=None),
        }
        kept = {
            flagged,
            await ipn(connection, LONG - DAY, order_id=fulfilled),
            await ipn(connection, old, order_id=fulfilled, result="pending"),
            await ipn(connection, old, order_id=fulfilled, result="error"),
            await ipn(connection, old, order_id=unpaid),
            await ipn(connection, old, order_id=saga_running),
            await ipn(connection, old, order_id=failed_unrefunded),
            await ipn(connection, old, order_id=refund_owed),
        }
    report = await sweep_of(engine).sweep()
    assert await remaining(engine) == kept
    assert [(s.rule, s.rows) for s in report] == [
        ("unauthenticated", 0),
        ("authenticated", len(gone)),
    ]


async def test_each_batch_is_audited_and_logged_with_its_counts(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    async with engine.begin() as connection:
        for _ in range(5):
            await ipn(connection, SHORT + DAY, authentic=False)
    with caplog.at_level(logging.INFO, logger="bitloot_runtime.retention"):
        await sweep_of(engine, batch_size=2).sweep()
    async with engine.connect() as connection:
        audit = (await connection.execute(select(retention_log))).mappings().all()
    assert [(a["table_name"], a["rule"], a["rows"]) for a in audit] == [
        ("ipn_log", "unauthenticated", 2),
        ("ipn_log", "unauthenticated", 2),
        ("ipn_log", "unauthenticated", 1),
    ]
    fields = [r.__dict__ for r in caplog.records if r.getMessage() == "retention swept"]
    logged = [(f["rule"], f["rows"], f["dry_run"]) for f in fields]
    assert logged == [("unauthenticated", 5, False), ("authenticated", 0, False)]


async def test_a_dry_run_counts_and_changes_nothing(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        ids = {await ipn(connection, SHORT + DAY, authentic=False) for _ in range(3)}
    report = await sweep_of(engine, batch_size=2).sweep(dry_run=True)
    assert [(s.rule, s.rows) for s in report] == [("unauthenticated", 3), ("authenticated", 0)]
    assert await remaining(engine) == ids
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(retention_log)) == 0


async def test_a_sweep_cut_short_leaves_its_batches_audited_and_the_next_finishes(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        for _ in range(5):
            await ipn(connection, SHORT + DAY, authentic=False)
    real_audit = retention_audit()
    calls = 0

    async def failing_second_time(connection: AsyncConnection, swept: Swept) -> None:
        nonlocal calls
        calls += 1
        await real_audit(connection, swept)
        if calls == 2:
            raise ConnectionError("database went away")

    broken = RetentionSweep(
        unit_of_work=lambda: UnitOfWork(engine),
        rules=ipn_rules(POLICY),
        audit=failing_second_time,
        batch_size=2,
    )
    with pytest.raises(ConnectionError):
        await broken.sweep()

    async def audited() -> int:
        async with engine.connect() as connection:
            total = await connection.scalar(select(func.sum(retention_log.c.rows)))
            return int(total or 0)

    assert (len(await remaining(engine)), await audited()) == (3, 2)
    await sweep_of(engine, batch_size=2).sweep()
    assert (len(await remaining(engine)), await audited()) == (0, 5)


async def test_the_retention_command_dry_run_prints_and_changes_nothing(
    engine: AsyncEngine, database_url: str
) -> None:
    async with engine.begin() as connection:
        forged = await ipn(connection, SHORT + DAY, authentic=False)
    private_key, public_key = generate_key_pair()
    env = {
        **os.environ,
        "PAYMENTS_DATABASE_URL": database_url,
        "PAYMENTS_AMQP_URL": "amqp://unused@127.0.0.1:1/",
        "PAYMENTS_INTERNAL_TOKEN": "t" * 32,
        "PAYMENTS_NOWPAYMENTS_API_URL": "https://api.nowpayments.test",
        "PAYMENTS_NOWPAYMENTS_API_KEY": "unused",
        "PAYMENTS_NOWPAYMENTS_IPN_SECRET": "unused",
        "PAYMENTS_PUBLIC_URL": "https://shop.bitloot.test",
        "PAYMENTS_ORDER_TOKEN_PRIVATE_KEY": private_key,
        "PAYMENTS_CLAIM_TOKEN_PUBLIC_KEYS": f"c1:{public_key}",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bitloot_payments", "retention", "--dry-run",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    lines = stdout.decode().splitlines()
    assert [line.split(" older than ")[0] for line in lines] == [
        "would delete 1 ipn_log rows (unauthenticated)",
        "would delete 0 ipn_log rows (authenticated)",
        "would delete 0 payout_ipns rows (unauthenticated)",
        "would delete 0 payout_ipns rows (authenticated)",
    ]
    assert await remaining(engine) == {forged}


async def test_every_batch_finds_its_rows_through_its_index_not_a_scan(engine: AsyncEngine) -> None:
    await assert_batches_use(engine, ipn_rules(POLICY), {"ipn_log": "ix_ipn_log_retention"})
    await assert_batches_use(
        engine, payout_ipn_rules(POLICY), {"payout_ipns": "ix_payout_ipns_retention"}
    )


async def payout(
    connection: AsyncConnection, payout_status: str, refund_status: str, *, attempt: int = 1
) -> str:
    """A payout in `payout_status` of a refund in `refund_status`; NOWPayments' id of it."""
    refund_id = await refund(connection, await order(connection, "refunded"), refund_status)
    provider_id = f"np-{uuid4()}"
    await connection.execute(
        insert(payouts).values(
            refund_id=refund_id, attempt=attempt, unique_external_id=f"refund-{refund_id}",
            status=payout_status, provider_payout_id=provider_id, address="addr",
            currency="btc", amount=1,
        )
    )  # fmt: skip
    return provider_id


async def payout_ipn(
    connection: AsyncConnection,
    age: timedelta,
    *,
    authentic: bool = True,
    provider_id: str | None = None,
    result: str = "applied",
) -> int:
    processed = None if result == "pending" else func.now()
    row_id = await connection.scalar(
        insert(payout_ipns)
        .values(
            received_at=func.now() - age, raw_body=uuid4().bytes, body_sha256=uuid4().hex,
            signature_valid=authentic, provider_payout_id=provider_id, status="finished",
            result=result, processed_at=processed,
        )
        .returning(payout_ipns.c.id)
    )  # fmt: skip
    assert row_id is not None
    return int(row_id)


async def test_forged_payout_ipns_go_after_the_short_period_and_authentic_ones_stay(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        finished = await payout(connection, "finished", "sent")
        old_forged = await payout_ipn(connection, SHORT + DAY, authentic=False, result="bad_sig")
        young_forged = await payout_ipn(connection, SHORT - DAY, authentic=False)
        authentic = await payout_ipn(connection, SHORT + DAY, provider_id=finished)
    report = await sweep_of(engine, rules=payout_ipn_rules).sweep()
    assert [(s.table, s.rule, s.rows) for s in report] == [
        ("payout_ipns", "unauthenticated", 1),
        ("payout_ipns", "authenticated", 0),
    ]
    assert await remaining(engine, payout_ipns) == {young_forged, authentic}
    assert old_forged not in await remaining(engine, payout_ipns)


async def test_authentic_payout_ipns_go_after_the_long_period_only_once_their_payout_ended(
    engine: AsyncEngine,
) -> None:
    old = LONG + DAY
    async with engine.begin() as connection:
        finished = await payout(connection, "finished", "sent")
        processing = await payout(connection, "processing", "sending")
        # Not final, though its refund was closed another way: a report may still come.
        processing_closed = await payout(connection, "processing", "refunded_outside")
        failed_owed = await payout(connection, "failed", "failed")
        failed_canceled = await payout(connection, "failed", "canceled")
        requesting = await payout(connection, "requesting", "sending")
        gone = {
            await payout_ipn(connection, old, provider_id=finished),
            await payout_ipn(connection, old, provider_id=finished, result="stale"),
            await payout_ipn(connection, old, provider_id=failed_canceled),
        }
        unknown = await payout_ipn(connection, old, provider_id="np-lost", result="unknown_payout")
        kept = {
            unknown,
            await payout_ipn(connection, LONG - DAY, provider_id=finished),
            await payout_ipn(connection, old, provider_id=finished, result="pending"),
            await payout_ipn(connection, old, provider_id=processing),
            await payout_ipn(connection, old, provider_id=processing_closed),
            await payout_ipn(connection, old, provider_id=failed_owed),
            await payout_ipn(connection, old, provider_id=requesting),
        }
    report = await sweep_of(engine, rules=payout_ipn_rules).sweep()
    assert await remaining(engine, payout_ipns) == kept
    assert [(s.rule, s.rows) for s in report] == [
        ("unauthenticated", 0),
        ("authenticated", len(gone)),
    ]
    # Once no payout awaits an answer, a report of a payout we never knew can go too.
    async with engine.begin() as connection:
        await connection.execute(
            payouts.update().where(payouts.c.status == "requesting").values(status="refused")
        )
    await sweep_of(engine, rules=payout_ipn_rules).sweep()
    assert unknown not in await remaining(engine, payout_ipns)
